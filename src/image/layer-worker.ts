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
 * are as expensive again. They run here in worker threads, so that the main thread only parses
 * while the workers decompress and hash the next megabytes.
 *
 * A worker serves several layers at once (jobs multiplexed by id): gunzip itself runs on
 * libuv's thread pool, so one worker thread hashes for about four inflating layers; and each
 * worker carries a V8 heap whose garbage (zlib's output buffers) is collected lazily, tens of
 * MiB, so fewer workers is less memory. WORKERS = cores / 4, at least one.
 *
 * Protocol (every message names its job; messages of an ended or aborted job are ignored on
 * both sides; an abort is always answered, so no side waits on a message that will not come):
 *   main → worker  start {compression}, in {buf} (compressed; at most IN_AHEAD bytes unacknowledged),
 *                  end, ack {n, buf?} (decompressed bytes consumed; the pooled buffer handed back), abort
 *   worker → main  inAck {n}, out {buf, off, len, pooled?} (transferred, no copy on the main thread;
 *                  the decompressor pauses past OUT_AHEAD unacknowledged bytes), done {digest},
 *                  error {message}, aborted
 */

const IN_AHEAD = 4 * 1024 * 1024;
const OUT_AHEAD = 4 * 1024 * 1024;
const WORKERS = Math.max(1, Math.floor(availableParallelism() / 4));

/** The worker's code: plain JavaScript evaluated in the worker (no loader: works from src and dist). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const zlib = require("node:zlib");
const zstd = require(workerData.zstdBindingPath);
const OUT_AHEAD = workerData.outAhead;
const jobs = new Map();

const post = (msg, transfer) => parentPort.postMessage(msg, transfer);

function finish(job, msg) {
  if (jobs.get(job.id) !== job) return;
  jobs.delete(job.id);
  post({ ...msg, id: job.id });
}

// Decompressed bytes travel in 1 MiB ArrayBuffers of a small pool that the main thread hands
// back with its acknowledgements: the main thread allocates nothing per chunk, and a message
// (about 30 us each way, transfer included) carries a whole MiB rather than one zlib chunk. A
// plain tar's chunks, which arrived here transferred, go back the same way without a copy.
const POOLED = 1024 * 1024;
const pool = [];
function flush(job) {
  if (!job.cur || job.curLen === 0) return;
  post({ type: "out", id: job.id, buf: job.cur, off: 0, len: job.curLen, pooled: true }, [job.cur]);
  job.out += job.curLen;
  job.cur = null;
  job.curLen = 0;
  if (job.out > OUT_AHEAD && job.t && !job.t.isPaused()) job.t.pause();
}
function emit(job, chunk, owned) {
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
    if (job.curLen === POOLED) flush(job);
  }
}

// zstd through the native binding, straight into the pooled buffers. (zstd-napi's stream
// decompresses a whole input chunk before returning, whatever it expands to: one MiB of a zstd
// bomb would be gigabytes at once. Here decoding stops whenever OUT_AHEAD bytes wait for the
// main thread and resumes with its acknowledgements.)
function zstdPump(job) {
  while (job.zin.length && job.out <= OUT_AHEAD && jobs.get(job.id) === job) {
    const head = job.zin[0];
    if (!job.cur) {
      job.cur = pool.pop() || new ArrayBuffer(POOLED);
      job.curLen = 0;
    }
    const dst = new Uint8Array(job.cur, job.curLen, POOLED - job.curLen);
    let r;
    try {
      r = job.dctx.decompressStream(dst, head.src);
    } catch (e) {
      finish(job, { type: "error", message: e.message });
      return;
    }
    const ret = r[0], produced = r[1], consumed = r[2];
    if (produced) {
      job.hash.update(dst.subarray(0, produced));
      job.curLen += produced;
    }
    job.inFrame = ret !== 0;
    head.src = head.src.subarray(consumed);
    // An input chunk is done when it is consumed and the decoder holds no more output for it.
    const drained = head.src.length === 0 && (produced < dst.length || ret === 0);
    if (job.curLen === POOLED) flush(job);
    if (drained) {
      job.zin.shift();
      post({ type: "inAck", id: job.id, n: head.n });
    }
  }
  if (job.ended && job.zin.length === 0 && jobs.get(job.id) === job) {
    if (job.inFrame) finish(job, { type: "error", message: "Stream ended in middle of compressed data frame" });
    else {
      flush(job);
      finish(job, { type: "done", digest: "sha256:" + job.hash.digest("hex") });
    }
  }
}

parentPort.on("message", (m) => {
  if (m.type === "ack" && m.buf && pool.length < 16) pool.push(m.buf); // whatever job it was read for
  if (m.type === "start") {
    const job = { id: m.id, hash: createHash("sha256"), out: 0, t: null, dctx: null, zin: [], ended: false,
      inFrame: false, cur: null, curLen: 0 };
    jobs.set(m.id, job);
    if (m.compression === "zstd") {
      job.dctx = new zstd.DCtx();
      // 128 MiB (zstd's own default limit, spelled out): a frame asking for a larger window is
      // refused instead of making the decoder allocate up to 2 GiB.
      job.dctx.setParameter(zstd.DParameter.windowLogMax, 27);
    } else if (m.compression === "gzip") {
      const t = zlib.createGunzip({ chunkSize: 256 * 1024 });
      job.t = t;
      t.on("data", (c) => { if (jobs.get(job.id) === job) emit(job, c, false); });
      t.on("end", () => {
        if (jobs.get(job.id) !== job) return;
        flush(job);
        finish(job, { type: "done", digest: "sha256:" + job.hash.digest("hex") });
      });
      t.on("error", (e) => finish(job, { type: "error", message: e.message }));
    }
    return;
  }
  if (m.type === "abort") {
    const job = jobs.get(m.id);
    if (job) {
      jobs.delete(m.id);
      if (job.t) job.t.destroy();
    }
    post({ type: "aborted", id: m.id });
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === "in") {
    const buf = Buffer.from(m.buf);
    const n = buf.length; // read before emit() transfers (detaches) the memory
    if (job.dctx) {
      job.zin.push({ src: buf, n });
      zstdPump(job);
    } else if (job.t) {
      // Acknowledged once the decompressor has taken it; a callback of an ended job says nothing.
      job.t.write(buf, () => { if (jobs.get(job.id) === job) post({ type: "inAck", id: job.id, n }); });
    } else {
      emit(job, buf, true);
      post({ type: "inAck", id: job.id, n });
    }
  } else if (m.type === "end") {
    job.ended = true;
    if (job.dctx) zstdPump(job);
    else if (job.t) job.t.end();
    else finish(job, { type: "done", digest: "sha256:" + job.hash.digest("hex") });
  } else if (m.type === "ack") {
    job.out -= m.n;
    if (job.t && job.out <= OUT_AHEAD && job.t.isPaused()) job.t.resume();
    if (job.dctx) zstdPump(job);
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

interface JobHandlers {
  message(m: FromWorker): void;
  failure(e: Error): void;
}

/** A worker and the jobs it runs; referenced (keeps the process alive) only while it has jobs. */
class LayerWorker {
  readonly worker: Worker;
  readonly jobs = new Map<number, JobHandlers>();
  dead = false;
  constructor(zstdBindingPath: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { zstdBindingPath, outAhead: OUT_AHEAD },
      // Its JS heap holds little (the bytes are ArrayBuffers); a runaway is stopped, not fed.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    this.worker.on("message", (m: FromWorker) => this.jobs.get(m.id)?.message(m));
    const fail = (e: Error) => {
      this.dead = true;
      const i = workers.indexOf(this);
      if (i >= 0) workers.splice(i, 1);
      for (const j of [...this.jobs.values()]) j.failure(e);
      this.jobs.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`layer worker exited with code ${code}`)));
    this.worker.unref();
  }

  add(id: number, h: JobHandlers): void {
    if (this.dead) return h.failure(new Error("layer worker is gone"));
    if (this.jobs.size === 0) this.worker.ref();
    this.jobs.set(id, h);
  }

  remove(id: number): void {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker.unref();
  }

  post(m: Record<string, unknown>, transfer?: ArrayBuffer[]): void {
    if (!this.dead) this.worker.postMessage(m, transfer);
  }
}

const workers: LayerWorker[] = [];
let zstdBindingPath: string | null = null;
let jobCounter = 0;

/** The least busy worker, a new one while there are fewer than WORKERS. */
function pickWorker(): LayerWorker {
  const least = workers.reduce<LayerWorker | null>((a, w) => (!a || w.jobs.size < a.jobs.size ? w : a), null);
  if (least && (least.jobs.size === 0 || workers.length >= WORKERS)) return least;
  zstdBindingPath ??= createRequire(import.meta.url).resolve("zstd-napi/binding");
  const w = new LayerWorker(zstdBindingPath);
  workers.push(w);
  return w;
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
 * A decompressed layer: its bytes, and once they have all been read, their sha256. A chunk is
 * valid until the next one is asked for (its memory is then reused): copy what must be kept.
 */
export interface HashedLayer extends AsyncIterable<Buffer> {
  /** `sha256:<hex>` of every decompressed byte; set when the iteration has completed. */
  digest(): string | undefined;
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
  const w = pickWorker();
  const id = ++jobCounter;
  const received: Buffer[] = [];
  const pooled = new WeakSet<Buffer>();
  let receivedBytes = 0;
  let inFlight = 0;
  let result: { digest?: string; error?: Error } | null = null;
  let failed = false;
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
  w.add(id, {
    message(m) {
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
    },
    failure(e) {
      failed = true;
      result ??= { error: e };
      notify();
      abortAck?.();
    },
  });
  w.post({ type: "start", id, compression });

  // Feeding runs beside the consumer. It waits while IN_AHEAD compressed bytes are unacknowledged
  // or OUT_AHEAD decompressed bytes wait for the consumer (a plain tar has no decompressor to pause).
  let sourceError: Error | null = null;
  let stopFeeding = false;
  const feed = (async () => {
    try {
      const send = (chunk: Buffer) => {
        const { buf, transfer } = transferable(chunk);
        inFlight += chunk.length;
        w.post({ type: "in", id, buf }, transfer);
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
      if (!stopFeeding) w.post({ type: "end", id });
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
          w.post({ type: "ack", id, n, buf }, [buf]);
        } else w.post({ type: "ack", id, n });
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
    if (!completed && !failed) {
      // Stopped early (a limit, a corrupt tar), or the job ended while we were stopping: the
      // worker drops the job if it still runs, and always answers.
      await new Promise<void>((r) => {
        abortAck = r;
        w.post({ type: "abort", id });
      });
    }
    await feed.catch(() => {});
    w.remove(id);
  }
}
