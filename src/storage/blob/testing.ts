import { onTestFinished } from "vitest";
import { suspendSyncBlobReads } from "./fs.js";

/**
 * The two paths a blob read takes (see FsBlobStore: synchronous while the page cache answers,
 * the thread pool for a while after a slow read), as `it.each` rows: [label, milliseconds].
 */
export const BLOB_READ_PATHS = [
  ["synchronously (page cache)", 0],
  ["through the thread pool (after a slow read)", 60_000],
] as const;

/** Sends blob reads down one path until the running test ends. */
export function readBlobsThrough(suspendMs: number): void {
  suspendSyncBlobReads(suspendMs);
  onTestFinished(() => suspendSyncBlobReads(0));
}
