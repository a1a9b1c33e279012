import { createGunzip, type ZlibOptions } from "node:zlib";
import { Readable, type Transform } from "node:stream";
import { DecompressStream } from "zstd-napi";

export type Compression = "gzip" | "zstd" | "none";

/** Sniffs the compression of a layer from its first bytes (media types lie; magic does not). */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

/**
 * How far decompressed output may run ahead of the tar reader. zlib works on libuv's thread
 * pool; with Node's default 16 KiB readable buffer it stalls after every chunk until the main
 * thread has parsed it, so decompression and parsing take turns instead of overlapping. A few
 * MiB per layer lets them run side by side on two cores, and stays a small, fixed amount.
 */
const DECOMPRESSED_AHEAD = 4 * 1024 * 1024;
const ZLIB_CHUNK = 256 * 1024;

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

/**
 * The decompressed bytes of a layer blob, streamed (never the whole layer in memory, never
 * on disk). gzip decompresses on libuv's thread pool, so layers read in parallel use several
 * cores; zstd-napi's stream decompresses on the calling thread. A plain tar is passed through.
 * The compression is sniffed from the magic bytes (media types lie); the blob is destroyed
 * when the consumer stops early.
 */
export async function* decompressedLayer(blob: Readable): AsyncGenerator<Buffer> {
  let out: Readable | null = null;
  try {
    const { head, ended } = await peek(blob, 4);
    const source = ended ? Readable.from(head.length ? [head] : []) : blob;
    const compression = detectCompression(head);
    if (compression === "none") {
      for await (const chunk of source) yield chunk as Buffer;
      return;
    }
    const t: Transform =
      compression === "gzip"
        ? createGunzip({ chunkSize: ZLIB_CHUNK, readableHighWaterMark: DECOMPRESSED_AHEAD } as ZlibOptions)
        : // windowLogMax 27 (128 MiB, zstd's own default limit, spelled out): a frame asking for
          // a larger window is refused instead of making the decoder allocate up to 2 GiB.
          (new DecompressStream({ windowLogMax: 27 }) as unknown as Transform);
    out = t;
    source.on("error", (e) => t.destroy(e));
    source.pipe(t);
    for await (const chunk of t) yield chunk as Buffer;
  } finally {
    out?.destroy();
    blob.destroy();
  }
}
