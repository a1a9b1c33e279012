import type { Readable } from "node:stream";

/**
 * Layer blobs: what compression they use, and a peek at their first bytes. Decompression
 * itself (and the diffID hash) runs in worker threads: see ./layer-worker.ts.
 */

export type Compression = "gzip" | "zstd" | "none";

/** Sniffs the compression of a layer from its first bytes (media types lie; magic does not). */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

/** Reads at least `n` bytes (or all there is) without consuming them: they are pushed back. */
export async function peek(blob: Readable, n: number): Promise<{ head: Buffer; ended: boolean }> {
  const parts: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const c = blob.read() as Buffer | null;
    if (c !== null) {
      parts.push(c);
      len += c.length;
      continue;
    }
    if (blob.readableEnded) break;
    if (blob.errored) throw blob.errored;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        blob.off("readable", done);
        blob.off("end", done);
        blob.off("error", fail);
        resolve();
      };
      const fail = (e: Error) => {
        blob.off("readable", done);
        blob.off("end", done);
        reject(e);
      };
      blob.once("readable", done);
      blob.once("end", done);
      blob.once("error", fail);
    });
  }
  const head = Buffer.concat(parts);
  if (blob.readableEnded) return { head, ended: true };
  if (head.length) blob.unshift(head);
  return { head, ended: false };
}
