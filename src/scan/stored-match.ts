import type { RegistryIdentity } from "../api/inspector2/finding.js";
import type { AdvisoryLookup } from "../match/types.js";
import type { ImageKey, MetaStore } from "../storage/meta/store.js";
import { commitChunk, matchChunk } from "./rematch.js";

/**
 * A scan without reading a layer: the whole stored inventory of an image matched again (every
 * package, as a re-match after a rebuilt database does), for an image that an ENHANCED scan
 * analysed before: an expired image pushed or pulled again, or a scan-on-push image whose
 * repository starts continuous scanning. Its closed findings that match again are ACTIVE again
 * under the same ARN (findings/lifecycle.ts).
 */

export type StoredMatch = Awaited<ReturnType<typeof matchChunk>>;

/** Matches the image's stored inventory (no transaction; nothing when it has none any more). */
export function matchStoredInventory(
  meta: MetaStore,
  image: ImageKey,
  db: AdvisoryLookup,
  builtAt: number,
): Promise<StoredMatch> {
  return matchChunk(meta, { builtAt, keys: "all", cves: [], images: [image] }, db);
}

/**
 * Records the match (in the scan's commit transaction): finding changes with their events, then
 * the scan state `status` with the open findings' counts. Returns the counts.
 */
export async function commitStoredMatch(
  tx: MetaStore,
  match: StoredMatch,
  o: {
    image: ImageKey;
    status: string;
    description: string;
    builtAt: number;
    now: number;
    aws: RegistryIdentity;
  },
): Promise<Record<string, number>> {
  await commitChunk(tx, match, o.now, o.aws);
  const { repositoryId, digest } = o.image;
  const counts = (await tx.findings.severityCounts(repositoryId, [digest], "ENHANCED")).get(digest) ?? {};
  await tx.scans.markCompleted(repositoryId, digest, {
    status: o.status,
    description: o.description,
    severityCounts: counts,
    vulnerabilitySourceUpdatedAt: o.builtAt,
  });
  return counts;
}
