import type { Digest } from "../core/digest.js";
import type { Logger } from "../core/logger.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";

export interface GcOptions {
  /** Blobs used (uploaded, mounted, checked) more recently than this are kept. */
  gracePeriodMs: number;
  /** Upload sessions idle longer than this are removed. */
  uploadExpiryMs: number;
  dryRun?: boolean;
  /** The clock (the metadata store's; tests move both forward). */
  now?: () => number;
}

export interface GcReport {
  blobsDeleted: number;
  bytesFreed: number;
  orphanFilesDeleted: number;
  uploadsExpired: number;
  dryRun: boolean;
}

/**
 * Online garbage collection: no read-only window. A blob's bytes are removed only when,
 * inside one metadata transaction, no manifest in any repository references it and it
 * has not been used during the grace period; a manifest write checks its references in a
 * transaction too, so a push either sees the blob gone (MANIFEST_BLOB_UNKNOWN, the client
 * re-uploads) or GC sees the reference. Uploads in progress and blobs a client has just
 * checked (HEAD) are inside the grace period.
 */
export async function collectGarbage(
  meta: MetaStore,
  blobs: BlobStore,
  opts: GcOptions,
  log?: Logger,
): Promise<GcReport> {
  const now = (opts.now ?? Date.now)();
  const usedBefore = now - opts.gracePeriodMs;
  const report: GcReport = {
    blobsDeleted: 0,
    bytesFreed: 0,
    orphanFilesDeleted: 0,
    uploadsExpired: 0,
    dryRun: !!opts.dryRun,
  };

  // 1. Blobs with records but no references.
  for (;;) {
    const batch = await meta.registry.unreferencedBlobs(usedBefore, 500);
    if (!batch.length) break;
    let progressed = false;
    for (const digest of batch) {
      const info = await blobs.stat(digest as Digest);
      if (opts.dryRun) {
        report.blobsDeleted++;
        report.bytesFreed += info?.size ?? 0;
        continue;
      }
      if (await meta.registry.deleteUnreferencedBlob(digest, usedBefore)) {
        progressed = true;
        // Re-check: a concurrent upload may have published the same digest again.
        if (!(await meta.registry.hasBlobRecord(digest)) && (await blobs.delete(digest as Digest))) {
          report.blobsDeleted++;
          report.bytesFreed += info?.size ?? 0;
        }
      }
    }
    if (opts.dryRun || !progressed) break;
  }

  // 2. Files without a record (a crash between publishing bytes and writing the row).
  for await (const b of blobs.list()) {
    if (b.modifiedAt.getTime() >= usedBefore) continue;
    if (await meta.registry.hasBlobRecord(b.digest)) continue;
    if (!opts.dryRun) await blobs.delete(b.digest);
    report.orphanFilesDeleted++;
    report.bytesFreed += b.size;
  }

  // 3. Expired upload sessions, and upload data whose session row is gone.
  const expiredBefore = now - opts.uploadExpiryMs;
  for (const id of await meta.registry.staleUploads(expiredBefore)) {
    if (!opts.dryRun) {
      await (await blobs.upload(id)).cancel();
      await meta.registry.deleteUpload(id);
    }
    report.uploadsExpired++;
  }
  for await (const u of blobs.listUploads()) {
    if (u.modifiedAt.getTime() >= expiredBefore) continue;
    if (await meta.registry.upload(u.id)) continue;
    if (!opts.dryRun) await (await blobs.upload(u.id)).cancel();
    report.uploadsExpired++;
  }

  log?.info({ gc: report }, "garbage collection finished");
  return report;
}
