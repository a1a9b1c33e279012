import type { FindingRecord, InspectorSeverity, RegistryIdentity } from "../api/inspector2/finding.js";
import { findingArnOf } from "../api/inspector2/finding.js";
import type { Finding } from "./finding.js";
import { parsedDocument } from "../storage/meta/finding-rows.js";
import type { FindingState, ListedFinding, MetaStore, StoredFindingRow } from "../storage/meta/store.js";

/**
 * The Inspector2 FindingRecord of a stored finding: its document (the matcher's Finding), its
 * lifecycle columns and what the Inspector Finding shows of its image (repository, tags, push and
 * pull times, repository tags). ListFindings, suppression and events all build it here, so a
 * filter sees what a client sees.
 */

/** What a finding shows of its image. */
export interface ImageContext {
  repositoryName: string;
  digest: string;
  imageTags: string[];
  pushedAt: number | null;
  lastPulledAt: number | null;
  repositoryTags: Record<string, string>;
}

/** The image context of one image, read in the caller's transaction (null: no such repository). */
export async function imageContext(
  tx: MetaStore,
  repositoryId: number,
  digest: string,
): Promise<ImageContext | null> {
  const repositoryName = await tx.registry.repositoryName(repositoryId);
  if (repositoryName === null) return null;
  const m = await tx.registry.manifest(repositoryId, digest);
  const settings = await tx.settings.repositoryById(repositoryId);
  return {
    repositoryName,
    digest,
    imageTags: m ? await tx.registry.tagsOf(repositoryId, digest) : [],
    pushedAt: m ? m.createdAt : null,
    lastPulledAt: m?.lastPulledAt ?? null,
    repositoryTags: Object.fromEntries((settings?.tags ?? []).map((t) => [t.Key, t.Value])),
  };
}

/** The image contexts of many images, by `repositoryId@digest`, in a few queries. */
export async function imageContexts(
  tx: MetaStore,
  images: readonly { repositoryId: number; digest: string }[],
): Promise<Map<string, ImageContext>> {
  const out = new Map<string, ImageContext>();
  for (const r of await tx.findings.imageContexts(images)) {
    const { repositoryId, ...ctx } = r;
    out.set(`${repositoryId}@${r.digest}`, ctx);
  }
  return out;
}

/** A finding document and its lifecycle state, in an image, as a FindingRecord. */
export function recordOf(
  registry: RegistryIdentity,
  id: string,
  doc: Finding,
  state: Pick<FindingState, "status" | "severity" | "firstObservedAt" | "lastObservedAt" | "updatedAt">,
  image: ImageContext,
): FindingRecord {
  const { status: matchStatus, ...finding } = doc;
  return {
    ...finding,
    findingArn: findingArnOf(registry, id),
    repositoryName: image.repositoryName,
    imageDigest: image.digest,
    imageTags: image.imageTags,
    ...(image.pushedAt !== null ? { pushedAt: image.pushedAt } : {}),
    ...(image.lastPulledAt !== null ? { lastInUseAt: image.lastPulledAt } : {}),
    ...(Object.keys(image.repositoryTags).length ? { resourceTags: image.repositoryTags } : {}),
    status: state.status,
    reportedSeverity: state.severity as InspectorSeverity,
    firstObservedAt: state.firstObservedAt,
    lastObservedAt: state.lastObservedAt,
    updatedAt: state.updatedAt,
    ...(matchStatus !== undefined ? { matchStatus } : {}),
  };
}

/** A listed finding (FindingStore.list) as a FindingRecord. */
export function listedRecord(registry: RegistryIdentity, r: ListedFinding): FindingRecord {
  return recordOf(registry, r.id, parsedDocument(r) as Finding, r, {
    repositoryName: r.repositoryName,
    digest: r.digest,
    imageTags: r.imageTags,
    pushedAt: r.pushedAt,
    lastPulledAt: r.lastPulledAt,
    repositoryTags: r.repositoryTags,
  });
}

/** A stored finding row of a known image as a FindingRecord. */
export function storedRecord(
  registry: RegistryIdentity,
  r: StoredFindingRow,
  image: ImageContext,
): FindingRecord {
  return recordOf(registry, r.id, parsedDocument(r) as Finding, r, image);
}
