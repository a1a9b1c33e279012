import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { closeSync, openSync, readSync } from "node:fs";
import { Readable } from "node:stream";
import { MessageChannel, Worker } from "node:worker_threads";
import { detectCompression, peek, type Compression } from "./layer.js";
import type { LocalBlob } from "./types.js";

/**
 * Decompression off the main thread, and the diffID hash where a core is free.
 *
 * On the main thread, a layer costs its tar walk and its catalogers; decompression (zstd-napi
 * decompresses on the calling thread) and sha256 of every decompressed byte (the diffID check)
 * are as expensive again. Decompression runs in a worker thread, the decompressor (gunzip itself
 * on libuv's thread pool). Where the hash runs depends on what keeps two cores busy without a
 * third thread starving the slowest stage:
 * - a compressed layer is hashed on the main thread, beside its tar walk (hash + walk cost about
 *   what decompression does, so the decoder keeps a core to itself; a hasher thread of its own
 *   made three busy threads share two cores and slowed the decoder by a third);
 * - a plain tar has nothing to decompress, so a hasher thread hashes it while the main thread
 *   walks it.
 *
 * The decompressor writes into 2 MiB SharedArrayBuffer slots of a small pool and hands each
 * filled slot to the main thread (and, for a plain tar, to the hasher at once: no copy, both read
 * the same memory); the slot returns to the pool when its readers have released it. A plain tar
 * is read straight into slots (a local file) or copied into them by the decompressor (a stream),
 * off the main thread.
 *
 * A decompressor serves several layers at once (jobs multiplexed by id): gunzip itself runs on
 * libuv's thread pool, so one decompressor thread copies for about four inflating layers; fewer
 * workers is less memory. PAIRS = cores / 4 decompressors (each with its hasher once a plain tar
 * came), at least one.
 *
 * Protocol (every message names its job; messages of an ended or aborted job are ignored on
 * every side; an abort is always answered, so no side waits on a message that will not come):
 *   main → decompressor  start {compression, file?, hash} (file: a local blob the decompressor
 *                        reads itself; hash: the hasher hashes the output), in {buf} (compressed,
 *                        from a stream; at most IN_AHEAD bytes unacknowledged), end, ack {slot}
 *                        (the main thread is done with a slot), abort, hasher {port} (once, before
 *                        the first job that the hasher hashes)
 *   decompressor → main  inAck {n}, out {sab, slot, len} (the decompressor pauses past OUT_AHEAD
 *                        bytes in slots not yet released by their readers), done {digest?},
 *                        error {message}, aborted
 *   decompressor → hasher (own MessageChannel)  start, data {sab, slot, len}, end, abort
 *   hasher → decompressor  hashed {slot} (for every data message, whatever the job's state),
 *                          digest {digest} (answers end)
 */

const IN_AHEAD = 4 * 1024 * 1024;
const OUT_AHEAD = 8 * 1024 * 1024;
const PAIRS = Math.max(1, Math.floor(availableParallelism() / 4));

/** The hasher: plain JavaScript evaluated in the worker (no loader: works from src and dist). */
const HASHER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const port = workerData.port;
const hashes = new Map();
port.on("message", (m) => {
  if (m.type === "data") {
    const h = hashes.get(m.id);
    if (h) h.update(new Uint8Array(m.sab, 0, m.len));
    port.postMessage({ type: "hashed", slot: m.slot });
  } else if (m.type === "start") hashes.set(m.id, createHash("sha256"));
  else if (m.type === "end") {
    const h = hashes.get(m.id);
    hashes.delete(m.id);
    if (h) port.postMessage({ type: "digest", id: m.id, digest: "sha256:" + h.digest("hex") });
  } else if (m.type === "abort") hashes.delete(m.id);
});
`;

/** The decompressor. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const zlib = require("node:zlib");
const zstd = require(workerData.zstdBindingPath);
const OUT_AHEAD = workerData.outAhead;
// The hasher's port arrives with the first plain tar (a "hasher" message): compressed layers
// are hashed on the main thread, and an image without plain layers never starts a hasher.
let hasher = null;
const jobs = new Map();
const decoders = []; // idle zstd decoders, reused (see drop)
function newDecoder() {
  const d = new zstd.DCtx();
  // 128 MiB (zstd's own default limit, spelled out): a frame asking for a larger window is
  // refused instead of making the decoder allocate up to 2 GiB.
  d.setParameter(zstd.DParameter.windowLogMax, 27);
  return d;
}

const post = (msg) => parentPort.postMessage(msg);

function finish(job, msg) {
  if (jobs.get(job.id) !== job) return;
  drop(job);
  post({ ...msg, id: job.id });
}
function drop(job) {
  jobs.delete(job.id);
  if (job.dctx) {
    // Back to the pool with its buffers (a fresh decoder's window was a few MiB of page faults
    // per layer); the session is reset, the parameters (windowLogMax) kept.
    job.dctx.reset(zstd.ResetDirective.sessionOnly);
    if (decoders.length < 4) decoders.push(job.dctx);
    job.dctx = null;
  }
  if (job.t) job.t.destroy();
  if (job.file && job.file.fd !== null) fs.close(job.file.fd, () => {});
  // A slot being filled goes back to the pool, unless a file read into it is still pending
  // (its callback returns it).
  if (!(job.file && job.file.reading)) dropCur(job);
}
function dropCur(job) {
  const s = job.cur;
  job.cur = null;
  if (s && !s.main && !s.hash) {
    s.job = null;
    free.push(s);
  }
}
function fail(job, message) {
  if (jobs.get(job.id) !== job) return;
  if (job.hash) hasher.postMessage({ type: "abort", id: job.id });
  finish(job, { type: "error", message });
}

// Slots: 2 MiB of shared memory each, read by the main thread (and, when the hasher hashes the
// job, by the hasher at the same time), free again when its readers have released it. A message (tens of microseconds between threads, as
// much as hashing 30-60 KiB) carries 2 MiB rather than one zlib chunk, and nothing is allocated
// per chunk on any thread.
const SLOT = 2 * 1024 * 1024;
const slots = [];
const free = [];
function takeSlot(job) {
  let s = free.pop();
  if (!s) {
    s = { i: slots.length, sab: new SharedArrayBuffer(SLOT), job: null, len: 0, main: false, hash: false };
    slots.push(s);
  }
  s.job = job;
  s.len = 0;
  return s;
}
function release(s) {
  if (s.main || s.hash || !s.job) return;
  const job = s.job;
  s.job = null;
  free.push(s);
  job.out -= s.len;
  if (jobs.get(job.id) !== job || job.out > OUT_AHEAD) return;
  if (job.t && job.t.isPaused()) job.t.resume();
  if (job.dctx) zstdPump(job);
  if (job.file) readFile(job);
}
function flush(job) {
  const s = job.cur;
  job.cur = null;
  if (!s) return;
  if (s.len === 0) {
    s.job = null;
    free.push(s);
    return;
  }
  s.main = true;
  s.hash = job.hash;
  job.out += s.len;
  post({ type: "out", id: job.id, sab: s.sab, slot: s.i, len: s.len });
  if (job.hash) hasher.postMessage({ type: "data", id: job.id, sab: s.sab, slot: s.i, len: s.len });
  if (job.out > OUT_AHEAD && job.t && !job.t.isPaused()) job.t.pause();
}
function emit(job, chunk) {
  let off = 0;
  while (off < chunk.length) {
    if (!job.cur) job.cur = takeSlot(job);
    const s = job.cur;
    const n = Math.min(SLOT - s.len, chunk.length - off);
    new Uint8Array(s.sab, s.len, n).set(chunk.subarray(off, off + n));
    s.len += n;
    off += n;
    if (s.len === SLOT) flush(job);
  }
}
function end(job) {
  flush(job);
  job.ending = true;
  if (job.hash) hasher.postMessage({ type: "end", id: job.id });
  else finish(job, { type: "done" });
}

// zstd through the native binding, straight into the slots. (zstd-napi's stream decompresses a
// whole input chunk before returning, whatever it expands to: one MiB of a zstd bomb would be
// gigabytes at once. Here decoding stops whenever OUT_AHEAD bytes wait for the readers and
// resumes as they release slots.)
function zstdPump(job) {
  while (job.zin.length && job.out <= OUT_AHEAD && jobs.get(job.id) === job) {
    const head = job.zin[0];
    if (!job.cur) job.cur = takeSlot(job);
    const s = job.cur;
    const dst = new Uint8Array(s.sab, s.len, SLOT - s.len);
    let r;
    try {
      r = job.dctx.decompressStream(dst, head.src);
    } catch (e) {
      fail(job, e.message);
      return;
    }
    const ret = r[0], produced = r[1], consumed = r[2];
    s.len += produced;
    job.inFrame = ret !== 0;
    head.src = head.src.subarray(consumed);
    // An input chunk is done when it is consumed and the decoder holds no more output for it.
    const drained = head.src.length === 0 && (produced < dst.length || ret === 0);
    if (s.len === SLOT) flush(job);
    if (drained) {
      const done = job.zin.shift();
      if (done.owner) job.spare = done.owner;
      if (job.file) readFile(job);
      else post({ type: "inAck", id: job.id, n: head.n });
    }
  }
  if (job.ended && !job.ending && job.zin.length === 0 && jobs.get(job.id) === job) {
    if (job.inFrame) fail(job, "Stream ended in middle of compressed data frame");
    else end(job);
  }
}

// A layer that is a byte range of a local file is read here, not on the main thread: one read
// at a time, straight into a slot for a plain tar, and only while the readers keep up. A
// compressed layer is read into a buffer the job reuses once the decoder is done with it (a
// fresh MiB per read cost a MiB of page faults per read).
const READ = 1024 * 1024;
function readFile(job) {
  const f = job.file;
  if (f.reading || job.ended || jobs.get(job.id) !== job || job.out > OUT_AHEAD) return;
  if (job.dctx && job.zin.length) return; // zstdPump asks again when it has consumed the input
  if (f.left === 0) return input(job, null);
  const plain = !job.dctx && !job.t;
  if (plain && !job.cur) job.cur = takeSlot(job);
  const dst = plain ? new Uint8Array(job.cur.sab, job.cur.len, SLOT - job.cur.len) : (job.spare ?? Buffer.allocUnsafe(READ));
  if (!plain) job.spare = null;
  const n = Math.min(dst.length, f.left);
  f.reading = true;
  const go = (fd) => fs.read(fd, dst, 0, n, f.pos, (e, got) => {
    f.reading = false;
    if (jobs.get(job.id) !== job) return dropCur(job);
    if (e) return fail(job, e.message);
    f.pos += got;
    f.left = got === 0 ? 0 : f.left - got;
    if (plain) {
      job.cur.len += got;
      if (job.cur.len === SLOT) flush(job);
      readFile(job);
    } else if (got > 0) input(job, dst.subarray(0, got), dst);
    else input(job, null);
  });
  if (f.fd !== null) go(f.fd);
  else fs.open(f.path, "r", (e, fd) => {
    if (e) {
      f.reading = false;
      return fail(job, e.message);
    }
    if (jobs.get(job.id) !== job) return fs.close(fd, () => {});
    f.fd = fd;
    go(fd);
  });
}
/**
 * Compressed input for a job (null: the end of it), from the main thread or from its file;
 * \`owner\`, a read buffer that goes back to the job when the decoder is done with it.
 */
function input(job, buf, owner) {
  if (buf === null) {
    job.ended = true;
    if (job.dctx) zstdPump(job);
    else if (job.t) job.t.end();
    else end(job);
    return;
  }
  const n = buf.length;
  if (job.dctx) {
    job.zin.push({ src: buf, n, owner });
    zstdPump(job);
  } else if (job.t) {
    // Taken once the decompressor has it; a callback of an ended job says nothing.
    job.t.write(buf, () => {
      if (jobs.get(job.id) !== job) return;
      if (owner) job.spare = owner;
      if (job.file) readFile(job);
      else post({ type: "inAck", id: job.id, n });
    });
  } else {
    emit(job, buf);
    post({ type: "inAck", id: job.id, n });
  }
}

function onHasherMessage(m) {
  if (m.type === "hashed") {
    const s = slots[m.slot];
    s.hash = false;
    release(s);
  } else if (m.type === "digest") {
    const job = jobs.get(m.id);
    if (job) finish(job, { type: "done", digest: m.digest });
  }
}

parentPort.on("message", (m) => {
  if (m.type === "hasher") {
    hasher = m.port;
    hasher.on("message", onHasherMessage);
    // The hasher is gone (it crashed): no job can complete; exiting makes the main thread fail them.
    hasher.on("close", () => process.exit(1));
    return;
  }
  if (m.type === "ack") {
    const s = slots[m.slot];
    if (s && s.main) {
      s.main = false;
      release(s);
    }
    return;
  }
  if (m.type === "start") {
    const job = { id: m.id, hash: m.hash, spare: null, out: 0, t: null, dctx: null, zin: [], ended: false, ending: false,
      inFrame: false, cur: null,
      file: m.file ? { path: m.file.path, pos: m.file.start, left: m.file.length, fd: null, reading: false } : null };
    jobs.set(m.id, job);
    if (job.hash) hasher.postMessage({ type: "start", id: m.id });
    if (m.compression === "zstd") {
      job.dctx = decoders.pop() ?? newDecoder();
    } else if (m.compression === "gzip") {
      const t = zlib.createGunzip({ chunkSize: 256 * 1024 });
      job.t = t;
      t.on("data", (c) => { if (jobs.get(job.id) === job) emit(job, c); });
      t.on("end", () => { if (jobs.get(job.id) === job) end(job); });
      t.on("error", (e) => fail(job, e.message));
    }
    if (job.file) readFile(job);
    return;
  }
  if (m.type === "abort") {
    const job = jobs.get(m.id);
    if (job) {
      drop(job);
      if (job.hash) hasher.postMessage({ type: "abort", id: m.id });
    }
    // The main thread reads none of this job's slots any more (ended jobs included).
    for (const s of slots) {
      if (s.job && s.job.id === m.id && s.main) {
        s.main = false;
        release(s);
      }
    }
    post({ type: "aborted", id: m.id });
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === "in") input(job, Buffer.from(m.buf));
  else if (m.type === "end") input(job, null);
});
`;

type FromWorker = { id: number } & (
  | { type: "out"; sab: SharedArrayBuffer; slot: number; len: number }
  | { type: "inAck"; n: number }
  | { type: "done"; digest?: string }
  | { type: "error"; message: string }
  | { type: "aborted" }
);

interface JobHandlers {
  message(m: FromWorker): void;
  failure(e: Error): void;
}

/**
 * A decompressor, its hasher and the jobs they run; referenced (keeps the process alive) only
 * while it has jobs. The hasher only talks to its decompressor, is never referenced itself, and
 * is started with the first plain tar (see withHasher).
 */
class LayerWorker {
  readonly worker: Worker;
  private hasher: Worker | null = null;
  readonly jobs = new Map<number, JobHandlers>();
  dead = false;
  constructor(zstdBindingPath: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { zstdBindingPath, outAhead: OUT_AHEAD },
      resourceLimits: RESOURCE_LIMITS,
    });
    this.worker.on("message", (m: FromWorker) => this.jobs.get(m.id)?.message(m));
    const fail = (e: Error) => {
      if (!this.dead) void this.hasher?.terminate();
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

  /** Starts the hasher and hands its port to the decompressor, once (before a plain tar's job). */
  withHasher(): this {
    if (this.hasher || this.dead) return this;
    const { port1, port2 } = new MessageChannel();
    this.hasher = new Worker(HASHER_SOURCE, {
      eval: true,
      workerData: { port: port2 },
      transferList: [port2],
      resourceLimits: RESOURCE_LIMITS,
    });
    this.hasher.unref();
    this.worker.postMessage({ type: "hasher", port: port1 }, [port1]);
    return this;
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

/** The workers' JS heaps hold little (the bytes live in shared slots); a runaway is stopped, not fed. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64 };

const workers: LayerWorker[] = [];
let zstdBindingPath: string | null = null;
let jobCounter = 0;

/** The least busy worker, a new one while there are fewer than PAIRS. */
function pickWorker(): LayerWorker {
  const least = workers.reduce<LayerWorker | null>((a, w) => (!a || w.jobs.size < a.jobs.size ? w : a), null);
  if (least && (least.jobs.size === 0 || workers.length >= PAIRS)) return least;
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
 * The decompressed bytes of a layer blob, decompressed in a worker thread and hashed where a core
 * is free (see the top of this file, and HashedLayerOptions): streamed
 * with bounded memory, the blob closed when the consumer stops, plus the digest of what was read.
 * A blob given as a byte range of a local file is read by the decompressor thread itself, so the
 * main thread neither reads nor forwards its bytes.
 */
export function hashedLayer(blob: Readable | LocalBlob, opts: HashedLayerOptions = {}): HashedLayer {
  let digest: string | undefined;
  return {
    digest: () => digest,
    [Symbol.asyncIterator]: () =>
      run(blob, opts.keepMainThreadFree === true, (d) => (digest = d))[Symbol.asyncIterator](),
  };
}

export interface HashedLayerOptions {
  /**
   * Hash every layer on the hasher thread, compressed ones too: for a process whose main thread
   * serves requests (the registry's scan-on-push), where 60 ms of sha256 per 121 MB layer would
   * be 60 ms of event-loop time, in 1 ms slices. The default hashes a compressed layer on the
   * main thread, the fastest arrangement on two cores (see the top of this file).
   */
  keepMainThreadFree?: boolean;
}

/** The first bytes of a local blob, for its compression (a 4-byte read: synchronous, see OciLayoutSource.read). */
function localHead(file: LocalBlob): Buffer {
  const fd = openSync(file.path, "r");
  try {
    const head = Buffer.alloc(Math.min(4, file.length));
    return head.subarray(0, readSync(fd, head, 0, head.length, file.start));
  } finally {
    closeSync(fd);
  }
}

async function* run(
  input: Readable | LocalBlob,
  keepMainThreadFree: boolean,
  setDigest: (d: string) => void,
): AsyncGenerator<Buffer> {
  const local = input instanceof Readable ? null : input;
  const blob = input instanceof Readable ? input : null;
  const { head, ended } = blob
    ? await peek(blob, 4).catch((e: Error) => {
        blob.destroy();
        throw e;
      })
    : { head: localHead(local!), ended: true };
  const compression: Compression = detectCompression(head);
  // A compressed layer is hashed here, as its chunks are walked; a plain tar (and every layer
  // when the main thread is to stay free) by the hasher.
  const hash = compression === "none" || keepMainThreadFree ? null : createHash("sha256");
  const w = hash ? pickWorker() : pickWorker().withHasher();
  const id = ++jobCounter;
  // Chunks waiting for the consumer, each with the slot it lives in.
  const received: { chunk: Buffer; slot: number }[] = [];
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
        received.push({ chunk: Buffer.from(m.sab, 0, m.len), slot: m.slot });
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
  w.post({ type: "start", id, compression, file: local, hash: hash === null });

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
      if (!blob) return;
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
      const next = received.shift();
      if (next) {
        const { chunk, slot } = next;
        receivedBytes -= chunk.length;
        hash?.update(chunk);
        yield chunk;
        // The consumer asked for the next chunk: it is done with this one, whose slot goes back.
        w.post({ type: "ack", id, slot });
        notify();
        continue;
      }
      if (sourceError) throw sourceError;
      if (result) {
        const r = result as { digest?: string; error?: Error };
        if (r.error) throw r.error;
        setDigest(hash ? `sha256:${hash.digest("hex")}` : r.digest!);
        completed = true;
        return;
      }
      await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    stopFeeding = true;
    notify();
    blob?.destroy();
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
