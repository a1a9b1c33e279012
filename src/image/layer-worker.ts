import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import type { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import { detectCompression, peek, type Compression } from "./layer.js";

/**
 * Decompression and diffID hashing off the main thread.
 *
 * On the main thread, a layer costs its tar walk and its catalogers; decompression (zstd-napi
 * decompresses on the calling thread) and sha256 of every decompressed byte (the diffID check)
 * are as expensive again. They run here in worker threads, one layer per worker at a time, so
 * that the main thread only parses while the workers decompress and hash the next megabytes.
 *
 * Protocol, per job (one layer), all flow-controlled so memory stays flat whatever the layer:
 *   main → worker  start {compression}, in {buf} (compressed; at most IN_AHEAD bytes unacknowledged),
 *                  end, ack {n} (decompressed bytes consumed), abort
 *   worker → main  inAck {n}, out {buf} (decompressed, transferred: no copy on the main thread;
 *                  the worker pauses past OUT_AHEAD unacknowledged bytes), done {digest}, error {message}
 */

const IN_AHEAD = 4 * 1024 * 1024;
const OUT_AHEAD = 4 * 1024 * 1024;

/** The worker's code: plain JavaScript evaluated in the worker (no loader, works from src and dist). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const zlib = require("node:zlib");
const { DecompressStream } = require(workerData.zstdPath);
const OUT_AHEAD = workerData.outAhead;
let job = null;

// Every message names its job: messages of a job that has ended (or was aborted) are ignored on
// both sides, and an abort is always answered, so no side ever waits on a message that will not come.
function post(msg, transfer) {
  parentPort.postMessage(msg, transfer);
}

function finish(msg) {
  if (!job) return;
  post({ ...msg, id: job.id });
  job = null;
}

// Decompressed bytes travel in 1 MiB ArrayBuffers of a small pool that the main thread hands
// back with its acknowledgements: the main thread allocates nothing per chunk, and a message
// (about 30 µs each way, transfer included) carries a whole MiB rather than one zlib chunk. A
// plain tar's chunks, which arrived here transferred, go back the same way without a copy.
const POOLED = 1024 * 1024;
const pool = [];
function flush() {
  if (!job.cur || job.curLen === 0) return;
  post({ type: "out", id: job.id, buf: job.cur, off: 0, len: job.curLen, pooled: true }, [job.cur]);
  job.out += job.curLen;
  job.cur = null;
  job.curLen = 0;
  if (job.out > OUT_AHEAD && job.t && !job.t.isPaused()) job.t.pause();
}
function emit(chunk, owned) {
  job.hash.update(chunk);
  if (owned) {
    job.out += chunk.length;
    post({ type: "out", id: job.id, buf: chunk.buffer, off: chunk.byteOffset, len: chunk.length }, [chunk.buffer]);
    return;
  }
  let off = 0;
  while (off < chunk.length) {
    if (!job.cur) {
      job.cur = pool.pop() || new ArrayBuffer(POOLED);
      job.curLen = 0;
    }
    const n = Math.min(POOLED - job.curLen, chunk.length - off);
    new Uint8Array(job.cur, job.curLen, n).set(chunk.subarray(off, off + n));
    job.curLen += n;
    off += n;
    if (job.curLen === POOLED) flush();
  }
}

parentPort.on("message", (m) => {
  if (m.type === "start") {
    if (job && job.t) job.t.destroy();
    job = { id: m.id, hash: createHash("sha256"), out: 0, t: null, cur: null, curLen: 0 };
    if (m.compression !== "none") {
      const t = m.compression === "gzip"
        ? zlib.createGunzip({ chunkSize: 256 * 1024 })
        : new DecompressStream({ windowLogMax: 27 });
      job.t = t;
      const self = job;
      t.on("data", (c) => { if (job === self) emit(c, false); });
      t.on("end", () => {
        if (job !== self) return;
        flush();
        finish({ type: "done", digest: "sha256:" + self.hash.digest("hex") });
      });
      t.on("error", (e) => { if (job === self) finish({ type: "error", message: e.message }); });
    }
    return;
  }
  if (m.type === "abort") {
    if (job && job.id === m.id) {
      if (job.t) job.t.destroy();
      job = null;
    }
    post({ type: "aborted", id: m.id });
    return;
  }
  if (m.type === "ack" && m.buf && pool.length < 8) pool.push(m.buf); // whatever job it was read for
  if (!job || job.id !== m.id) return;
  if (m.type === "in") {
    const buf = Buffer.from(m.buf);
    const n = buf.length; // read before emit() transfers (detaches) the memory
    if (!job.t) {
      emit(buf, true);
      post({ type: "inAck", id: job.id, n });
      return;
    }
    const self = job;
    // Acknowledged once the decompressor has taken it; a callback of an aborted job says nothing.
    job.t.write(buf, () => { if (job === self) post({ type: "inAck", id: self.id, n }); });
  } else if (m.type === "end") {
    if (job.t) job.t.end();
    else finish({ type: "done", digest: "sha256:" + job.hash.digest("hex") });
  } else if (m.type === "ack") {
    job.out -= m.n;
    if (job.t && job.out <= OUT_AHEAD && job.t.isPaused()) job.t.resume();
  }
});
`;

type FromWorker = { id: number } & (
  | { type: "out"; buf: ArrayBuffer; off: number; len: number; pooled?: boolean }
  | { type: "inAck"; n: number }
  | { type: "done"; digest: string }
  | { type: "error"; message: string }
  | { type: "aborted" }
);

let jobs = 0;

/**
 * A decompressed layer: its bytes, and once they have all been read, their sha256. A chunk is
 * valid until the next one is asked for (its memory is then reused): copy what must be kept.
 */
export interface HashedLayer extends AsyncIterable<Buffer> {
  /** `sha256:<hex>` of every decompressed byte; set when the iteration has completed. */
  digest(): string | undefined;
}

class PooledWorker {
  readonly worker: Worker;
  listener: ((m: FromWorker) => void) | null = null;
  failure: ((e: Error) => void) | null = null;
  constructor(zstdPath: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { zstdPath, outAhead: OUT_AHEAD },
      // Bounded like the rest of the analysis: a worker holds a few MiB in flight.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    this.worker.on("message", (m: FromWorker) => this.listener?.(m));
    this.worker.on("error", (e) => this.failure?.(e));
    this.worker.on("exit", (code) => this.failure?.(new Error(`layer worker exited with code ${code}`)));
    this.worker.unref();
  }
}

const idle: PooledWorker[] = [];
let live = 0;
const waiting: ((w: PooledWorker) => void)[] = [];
let zstdPath: string | null = null;

async function acquire(): Promise<PooledWorker> {
  const w = idle.pop();
  if (w) return w;
  if (live < Math.max(2, availableParallelism())) {
    live++;
    try {
      zstdPath ??= createRequire(import.meta.url).resolve("zstd-napi");
      return new PooledWorker(zstdPath);
    } catch (e) {
      live--;
      throw e;
    }
  }
  return new Promise((r) => waiting.push(r));
}

function release(w: PooledWorker, healthy: boolean): void {
  w.listener = null;
  w.failure = null;
  w.worker.unref();
  if (!healthy) {
    live--;
    void w.worker.terminate();
    return;
  }
  const next = waiting.shift();
  if (next) next(w);
  else idle.push(w);
}

/** Owned chunks are transferred to the worker; chunks that share memory (pooled slices) are copied. */
function transferable(chunk: Buffer): { buf: ArrayBuffer; transfer: ArrayBuffer[] } {
  const ab = chunk.buffer;
  if (ab instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === ab.byteLength)
    return { buf: ab, transfer: [ab] };
  const copy = new ArrayBuffer(chunk.length);
  new Uint8Array(copy).set(chunk);
  return { buf: copy, transfer: [copy] };
}

/**
 * The decompressed bytes of a layer blob, decompressed and hashed in a worker thread. Same
 * contract as `decompressedLayer` (streamed, bounded, the blob destroyed when the consumer
 * stops), plus the digest of what was read.
 */
export function hashedLayer(blob: Readable): HashedLayer {
  let digest: string | undefined;
  return {
    digest: () => digest,
    [Symbol.asyncIterator]: () => run(blob, (d) => (digest = d))[Symbol.asyncIterator](),
  };
}

async function* run(blob: Readable, setDigest: (d: string) => void): AsyncGenerator<Buffer> {
  const { head, ended } = await peek(blob, 4).catch((e: Error) => {
    blob.destroy();
    throw e;
  });
  const compression: Compression = detectCompression(head);
  const w = await acquire();
  w.worker.ref(); // a job in flight keeps the process alive
  const received: Buffer[] = [];
  const pooled = new WeakSet<Buffer>();
  let receivedBytes = 0;
  let inFlight = 0;
  let result: { digest?: string; error?: Error } | null = null;
  let healthy = true;
  // The consumer and the feeder each wait on their own wake-up; every event wakes both.
  let wakeConsumer: (() => void) | null = null;
  let wakeFeeder: (() => void) | null = null;
  let abortAck: (() => void) | null = null;
  const notify = () => {
    const c = wakeConsumer;
    const f = wakeFeeder;
    wakeConsumer = wakeFeeder = null;
    c?.();
    f?.();
  };
  const id = ++jobs;
  w.listener = (m) => {
    if (m.id !== id) return; // a late message of an earlier job on this worker
    if (m.type === "out") {
      const chunk = Buffer.from(m.buf, m.off, m.len);
      if (m.pooled) pooled.add(chunk);
      received.push(chunk);
      receivedBytes += m.len;
    } else if (m.type === "inAck") inFlight -= m.n;
    else if (m.type === "done") result = { digest: m.digest };
    else if (m.type === "error") result = { error: new Error(m.message) };
    else if (m.type === "aborted") abortAck?.();
    notify();
  };
  w.failure = (e) => {
    healthy = false;
    result ??= { error: e };
    notify();
    abortAck?.();
  };
  w.worker.postMessage({ type: "start", id, compression });

  // Feeding runs beside the consumer. It waits while IN_AHEAD compressed bytes are unacknowledged
  // or OUT_AHEAD decompressed bytes wait for the consumer (a plain tar has no decompressor to pause).
  let sourceError: Error | null = null;
  let stopFeeding = false;
  const feed = (async () => {
    try {
      const send = (chunk: Buffer) => {
        const { buf, transfer } = transferable(chunk);
        inFlight += chunk.length;
        w.worker.postMessage({ type: "in", id, buf }, transfer);
      };
      if (ended) {
        if (head.length) send(head);
      } else {
        for await (const chunk of blob) {
          if (stopFeeding) return;
          send(chunk as Buffer);
          while ((inFlight > IN_AHEAD || receivedBytes > OUT_AHEAD) && !result && !stopFeeding)
            await new Promise<void>((r) => (wakeFeeder = r));
        }
      }
      if (!stopFeeding) w.worker.postMessage({ type: "end", id });
    } catch (e) {
      sourceError = e as Error;
      notify();
    }
  })();

  let completed = false;
  try {
    for (;;) {
      const chunk = received.shift();
      if (chunk) {
        receivedBytes -= chunk.length;
        yield chunk;
        // The consumer asked for the next chunk: it is done with this one, whose memory goes back.
        const n = chunk.length;
        if (pooled.delete(chunk)) {
          const buf = chunk.buffer as ArrayBuffer;
          w.worker.postMessage({ type: "ack", id, n, buf }, [buf]);
        } else w.worker.postMessage({ type: "ack", id, n });
        notify();
        continue;
      }
      if (sourceError) throw sourceError;
      if (result) {
        const r = result as { digest?: string; error?: Error };
        if (r.error) throw r.error;
        setDigest(r.digest!);
        completed = true;
        return;
      }
      await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    stopFeeding = true;
    notify();
    blob.destroy();
    if (!completed && healthy) {
      // Stopped early (a limit, a corrupt tar), or the job ended while we were stopping: the
      // worker drops the job if it still runs, and always answers, before it is reused.
      await new Promise<void>((r) => {
        abortAck = r;
        w.worker.postMessage({ type: "abort", id });
      });
    }
    await feed.catch(() => {});
    release(w, healthy);
  }
}
