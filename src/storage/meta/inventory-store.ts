import { createHash } from "node:crypto";
import type { ExpressionBuilder } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/**
 * The stored image inventories (tables inventory_segments, segment_packages, segment_keys,
 * image_inventories, image_segments; schema.ts). An image's merged inventory is written as
 * segments, the packages each layer brought; a segment is stored once per content, so the
 * images of one base stack share its rows, and `segment_keys` indexes each segment under the
 * match keys of its packages: "which images contain package P" is one indexed join.
 */

/** A segment to store: the packages one layer brought, as JSON documents, and their match keys. */
export interface SegmentInput {
  /** The distro release the keys were computed for (`debian:12`), part of the identity. */
  distroKey: string | null;
  /** Package documents (catalog/types.ts Package), in a stable order. */
  packages: readonly string[];
  /** The match keys of those packages (`<ecosystem key> <name>`), deduplicated. */
  keys: readonly string[];
}

export interface StoredInventory {
  /** The image's distro (catalog/types.ts Distro) as JSON, or null. */
  distro: string | null;
  analyzedAt: number;
  segments: { id: number; packages: string[] }[];
}

export interface ImageRef {
  repositoryId: number;
  digest: string;
}

const BATCH = 200;
/**
 * How stale a stored segment's `last_used_at` may be before a scan taking it refreshes it: half
 * the purge's grace (an hour), so a scan has at least 30 minutes to commit, and a segment shared
 * by many images is written at most twice an hour, not at every scan.
 */
export const REFRESH_MS = 30 * 60_000;

export class InventoryStore {
  constructor(private readonly h: Handle) {}

  /** Stores (or replaces) an image's inventory; segments already stored are reused. */
  async putImage(
    repositoryId: number,
    digest: string,
    distro: string | null,
    segments: readonly SegmentInput[],
  ): Promise<void> {
    await this.h.tx(async (t) => {
      const ids: number[] = [];
      for (const s of segments) ids.push(await new InventoryStore(t).segmentId(s));
      await t.db
        .deleteFrom("image_segments")
        .where("repository_id", "=", repositoryId)
        .where("digest", "=", digest)
        .execute();
      const now = t.now();
      await t.db
        .insertInto("image_inventories")
        .values({ repository_id: repositoryId, digest, distro, analyzed_at: now })
        .onConflict((oc) => oc.columns(["repository_id", "digest"]).doUpdateSet({ distro, analyzed_at: now }))
        .execute();
      const unique = [...new Set(ids)];
      for (let i = 0; i < unique.length; i += BATCH)
        await t.db
          .insertInto("image_segments")
          .values(
            unique.slice(i, i + BATCH).map((segment_id, j) => ({
              repository_id: repositoryId,
              digest,
              segment_id,
              position: i + j,
            })),
          )
          .execute();
    });
  }

  /** An image's stored inventory, or null when it was never stored. */
  async image(repositoryId: number, digest: string): Promise<StoredInventory | null> {
    const inv = await this.h.db
      .selectFrom("image_inventories")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .executeTakeFirst();
    if (!inv) return null;
    const segs = await this.h.db
      .selectFrom("image_segments")
      .select(["segment_id"])
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .orderBy("position")
      .execute();
    const packages = await this.segmentPackages(segs.map((s) => Number(s.segment_id)));
    return {
      distro: inv.distro,
      analyzedAt: Number(inv.analyzed_at),
      segments: segs.map((s) => ({
        id: Number(s.segment_id),
        packages: packages.get(Number(s.segment_id)) ?? [],
      })),
    };
  }

  /** Whether an image's inventory is stored. */
  async has(repositoryId: number, digest: string): Promise<boolean> {
    const row = await this.h.db
      .selectFrom("image_inventories")
      .select("digest")
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The stored inventories of many images, in a few queries: each image's distro and segment ids
   * in layer order. Images without a stored inventory are absent.
   */
  async segmentsOf(
    images: readonly ImageRef[],
  ): Promise<(ImageRef & { distro: string | null; segmentIds: number[] })[]> {
    const wanted = new Set(images.map((i) => `${i.repositoryId}@${i.digest}`));
    const byImage = new Map<string, ImageRef & { distro: string | null; segmentIds: number[] }>();
    for (let i = 0; i < images.length; i += BATCH) {
      const part = images.slice(i, i + BATCH);
      // (repository IN, digest IN) is a superset of the pairs: the exact ones are kept below.
      const rows = await this.h.db
        .selectFrom("image_inventories as ii")
        .leftJoin("image_segments as s", (j) =>
          j.onRef("s.repository_id", "=", "ii.repository_id").onRef("s.digest", "=", "ii.digest"),
        )
        .select(["ii.repository_id", "ii.digest", "ii.distro", "s.segment_id", "s.position"])
        .where("ii.repository_id", "in", [...new Set(part.map((x) => x.repositoryId))])
        .where("ii.digest", "in", [...new Set(part.map((x) => x.digest))])
        .orderBy("ii.repository_id")
        .orderBy("ii.digest")
        .orderBy("s.position")
        .execute();
      for (const r of rows) {
        const k = `${r.repository_id}@${r.digest}`;
        if (!wanted.has(k)) continue;
        let e = byImage.get(k);
        if (!e)
          byImage.set(
            k,
            (e = {
              repositoryId: Number(r.repository_id),
              digest: r.digest,
              distro: r.distro,
              segmentIds: [],
            }),
          );
        if (r.segment_id !== null) e.segmentIds.push(Number(r.segment_id));
      }
    }
    return [...byImage.values()];
  }

  /** Of these images, the ones whose inventory is stored. */
  async stored(images: readonly ImageRef[]): Promise<ImageRef[]> {
    const wanted = new Set(images.map((i) => `${i.repositoryId}@${i.digest}`));
    const out: ImageRef[] = [];
    for (let i = 0; i < images.length; i += BATCH) {
      const part = images.slice(i, i + BATCH);
      for (const r of await this.h.db
        .selectFrom("image_inventories")
        .select(["repository_id", "digest"])
        .where("repository_id", "in", [...new Set(part.map((x) => x.repositoryId))])
        .where("digest", "in", [...new Set(part.map((x) => x.digest))])
        .execute())
        if (wanted.has(`${r.repository_id}@${r.digest}`))
          out.push({ repositoryId: Number(r.repository_id), digest: r.digest });
    }
    return out;
  }

  /** Every image with a stored inventory, in (repository, digest) order. */
  async allImages(): Promise<ImageRef[]> {
    const rows = await this.h.db
      .selectFrom("image_inventories")
      .select(["repository_id", "digest"])
      .orderBy("repository_id")
      .orderBy("digest")
      .execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), digest: r.digest }));
  }

  /** The package documents of segments, by segment id. */
  async segmentPackages(segmentIds: readonly number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (let i = 0; i < segmentIds.length; i += BATCH) {
      const rows = await this.h.db
        .selectFrom("segment_packages")
        .select(["segment_id", "json"])
        .where("segment_id", "in", segmentIds.slice(i, i + BATCH))
        .orderBy("segment_id")
        .orderBy("seq")
        .execute();
      for (const r of rows) {
        const id = Number(r.segment_id);
        const list = out.get(id) ?? [];
        list.push(r.json);
        out.set(id, list);
      }
    }
    return out;
  }

  /** The segments that hold a package looked up under any of `keys`. */
  async segmentsWithKeys(keys: readonly string[]): Promise<number[]> {
    const out = new Set<number>();
    for (let i = 0; i < keys.length; i += BATCH)
      for (const r of await this.h.db
        .selectFrom("segment_keys")
        .select("segment_id")
        .where("match_key", "in", keys.slice(i, i + BATCH))
        .execute())
        out.add(Number(r.segment_id));
    return [...out].sort((a, b) => a - b);
  }

  /** The images whose inventory includes any of the segments, in (repository, digest) order. */
  async imagesWithSegments(segmentIds: readonly number[]): Promise<(ImageRef & { segmentIds: number[] })[]> {
    const byImage = new Map<string, ImageRef & { segmentIds: number[] }>();
    for (let i = 0; i < segmentIds.length; i += BATCH)
      for (const r of await this.h.db
        .selectFrom("image_segments")
        .select(["repository_id", "digest", "segment_id"])
        .where("segment_id", "in", segmentIds.slice(i, i + BATCH))
        .execute()) {
        const k = `${r.repository_id}@${r.digest}`;
        let e = byImage.get(k);
        if (!e)
          byImage.set(k, (e = { repositoryId: Number(r.repository_id), digest: r.digest, segmentIds: [] }));
        e.segmentIds.push(Number(r.segment_id));
      }
    return [...byImage.values()].sort(
      (a, b) => a.repositoryId - b.repositoryId || (a.digest < b.digest ? -1 : 1),
    );
  }

  /** Forgets an image's inventory (its manifest is deleted); segments stay until purged. */
  async forgetImage(repositoryId: number, digest: string): Promise<void> {
    for (const table of ["image_segments", "image_inventories"] as const)
      await this.h.db
        .deleteFrom(table)
        .where("repository_id", "=", repositoryId)
        .where("digest", "=", digest)
        .execute();
  }

  /**
   * Deletes at most `limit` segments that no image uses and none took since `usedBefore`;
   * returns how many (their packages and keys go with them). The grace (`usedBefore` an hour
   * ago, src/findings/retention.ts) protects a scan that is committing an image onto a segment
   * it found stored: segmentId refreshes `last_used_at` when it is older than REFRESH_MS, so a
   * segment a scan takes was used at most REFRESH_MS ago, or is locked by that scan's refresh.
   */
  async purgeUnusedSegments(usedBefore = Number.MAX_SAFE_INTEGER, limit = 500): Promise<number> {
    const unused = (eb: ExpressionBuilder<Database, "inventory_segments">) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("image_segments")
            .select("image_segments.segment_id")
            .whereRef("image_segments.segment_id", "=", "inventory_segments.id"),
        ),
      );
    // The conditions are on the deleted row itself, so that PostgreSQL checks them again on a
    // row a concurrent scan has just refreshed.
    const r = await this.h.db
      .deleteFrom("inventory_segments")
      .where("last_used_at", "<", usedBefore)
      .where(unused)
      .where((eb) =>
        eb(
          "id",
          "in",
          eb
            .selectFrom("inventory_segments as s")
            .select("s.id")
            .where("s.last_used_at", "<", usedBefore)
            .where((e) =>
              e.not(
                e.exists(
                  e
                    .selectFrom("image_segments")
                    .select("image_segments.segment_id")
                    .whereRef("image_segments.segment_id", "=", "s.id"),
                ),
              ),
            )
            .limit(limit),
        ),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** The id of a segment with this content, storing it first when it is new. */
  private async segmentId(s: SegmentInput): Promise<number> {
    const hash = createHash("sha256")
      .update(`${s.distroKey ?? ""}\u0000${s.packages.join("\n")}`)
      .digest("hex");
    const now = this.h.now();
    // A stored segment is taken with a recent `last_used_at` (the purge's grace counts from it):
    // refreshed here when older than REFRESH_MS, which also locks the row until this commits.
    const refreshed = await this.h.db
      .updateTable("inventory_segments")
      .set({ last_used_at: now })
      .where("hash", "=", hash)
      .where("last_used_at", "<", now - REFRESH_MS)
      .returning("id")
      .executeTakeFirst();
    if (refreshed) return Number(refreshed.id);
    const existing = await this.h.db
      .selectFrom("inventory_segments")
      .select("id")
      .where("hash", "=", hash)
      .executeTakeFirst();
    if (existing) return Number(existing.id);
    // Another writer may store the same segment at the same moment: the unique hash decides,
    // and the loser reads the winner's id.
    const inserted = await this.h.db
      .insertInto("inventory_segments")
      .values({
        hash,
        distro_key: s.distroKey,
        package_count: s.packages.length,
        created_at: now,
        last_used_at: now,
      })
      .onConflict((oc) => oc.column("hash").doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!inserted) {
      const row = await this.h.db
        .selectFrom("inventory_segments")
        .select("id")
        .where("hash", "=", hash)
        .executeTakeFirstOrThrow();
      return Number(row.id);
    }
    const id = Number(inserted.id);
    for (let i = 0; i < s.packages.length; i += BATCH)
      await this.h.db
        .insertInto("segment_packages")
        .values(s.packages.slice(i, i + BATCH).map((json, j) => ({ segment_id: id, seq: i + j, json })))
        .execute();
    const keys = [...new Set(s.keys)];
    for (let i = 0; i < keys.length; i += BATCH)
      await this.h.db
        .insertInto("segment_keys")
        .values(keys.slice(i, i + BATCH).map((match_key) => ({ match_key, segment_id: id })))
        .execute();
    return id;
  }
}
