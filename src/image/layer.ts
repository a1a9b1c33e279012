import { createGunzip } from "node:zlib";
import { PassThrough, Readable, type Transform } from "node:stream";
import { DecompressStream } from "zstd-napi";

export type Compression = "gzip" | "zstd" | "none";

/** Sniffs the compression of a layer from its first bytes (media types lie; magic does not). */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

/**
 * The decompressed bytes of a layer blob, streamed. Decompression runs on libuv's thread
 * pool (zlib) or natively (zstd), so several layers decompress in parallel.
 */
export async function* decompressedLayer(blob: Readable): AsyncGenerator<Buffer> {
  const it = blob[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const heads: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 4) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    heads.push(r.value);
    headLen += r.value.length;
  }
  const head = Buffer.concat(heads);
  const compression = detectCompression(head);
  const rest = Readable.from(
    (async function* () {
      if (head.length) yield head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false },
  );
  let out: Transform;
  if (compression === "gzip") out = createGunzip({ chunkSize: 256 * 1024 });
  // windowLogMax 27 (128 MiB, zstd's own default limit, spelled out): a frame asking for a larger
  // window is refused instead of making the decoder allocate up to 2 GiB.
  else if (compression === "zstd") out = new DecompressStream({ windowLogMax: 27 }) as unknown as Transform;
  else out = new PassThrough({ highWaterMark: 1024 * 1024 });
  rest.on("error", (e) => out.destroy(e));
  rest.pipe(out);
  try {
    for await (const chunk of out) yield chunk as Buffer;
  } finally {
    rest.destroy();
    out.destroy();
    blob.destroy();
  }
}
