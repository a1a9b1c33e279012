/**
 * The decompressor thread: decompresses the jobs the main thread gives it into shared slots
 * (see ./layer-worker.ts, which describes the protocol). Imports only node: modules (see
 * startThread in ../core/threads.ts); zstd-napi's binding is loaded from the path the main thread
 * resolved.
 */
import { close, open, read } from "node:fs";
import { createRequire } from "node:module";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { createGunzip, type Gunzip } from "node:zlib";
import type * as Zstd from "zstd-napi/binding.js";
import type {
  DecompressorData,
  FromDecompressor,
  FromHasher,
  JobEvent,
  ToDecompressor,
  ToHasher,
} from "./layer-worker-protocol.js";

if (!parentPort) throw new Error("layer-worker-thread runs in a worker thread");
const parent = parentPort;
const { zstdBindingPath, outAhead: OUT_AHEAD } = workerData as DecompressorData;
const zstd = createRequire(zstdBindingPath)(zstdBindingPath) as typeof Zstd;

/** A job's local file, read here. */
interface FileRead {
  path: string;
  pos: number;
  left: number;
  fd: number | null;
  reading: boolean;
}

/** Compressed input waiting for the zstd decoder; `owner`, the read buffer it lives in. */
interface ZstdInput {
  src: Uint8Array;
  n: number;
  owner: Buffer | undefined;
}

interface Job {
  id: number;
  /** The hasher hashes the output. */
  hash: boolean;
  /** A read buffer for a compressed local file, free again. */
  spare: Buffer | null;
  /** Bytes in slots not yet released by their readers. */
  out: number;
  /** gzip: the inflater (node:zlib, on libuv's pool). */
  t: Gunzip | null;
  /** zstd: the decoder. */
  dctx: Zstd.DCtx | null;
  zin: ZstdInput[];
  /** All the input came. */
  ended: boolean;
  /** All the output went; waiting for the hasher's digest. */
  ending: boolean;
  /** zstd: the decoder is inside a frame. */
  inFrame: boolean;
  /** The slot being filled. */
  cur: Slot | null;
  file: FileRead | null;
}

interface Slot {
  i: number;
  sab: SharedArrayBuffer;
  job: Job | null;
  len: number;
  /** The main thread reads it. */
  main: boolean;
  /** The hasher reads it. */
  hash: boolean;
}

// The hasher's port arrives with the first plain tar (a "hasher" message): compressed layers
// are hashed on the main thread, and an image without plain layers never starts a hasher.
let hasher: MessagePort | null = null;
const jobs = new Map<number, Job>();
const decoders: Zstd.DCtx[] = []; // idle zstd decoders, reused (see drop)
function newDecoder(): Zstd.DCtx {
  const d = new zstd.DCtx();
  // 128 MiB (zstd's own default limit, spelled out): a frame asking for a larger window is
  // refused instead of making the decoder allocate up to 2 GiB.
  d.setParameter(zstd.DParameter.windowLogMax, 27);
  return d;
}

const post = (msg: FromDecompressor) => parent.postMessage(msg);
/** Only for a job the hasher hashes: its port came before that job started. */
const toHasher = (msg: ToHasher) => hasher!.postMessage(msg);

function finish(job: Job, msg: JobEvent) {
  if (jobs.get(job.id) !== job) return;
  drop(job);
  post({ ...msg, id: job.id });
}
function drop(job: Job) {
  jobs.delete(job.id);
  if (job.dctx) {
    // Back to the pool with its buffers (a fresh decoder's window was a few MiB of page faults
    // per layer); the session is reset, the parameters (windowLogMax) kept.
    job.dctx.reset(zstd.ResetDirective.sessionOnly);
    if (decoders.length < 4) decoders.push(job.dctx);
    job.dctx = null;
  }
  if (job.t) job.t.destroy();
  if (job.file && job.file.fd !== null) close(job.file.fd, () => {});
  // A slot being filled goes back to the pool, unless a file read into it is still pending
  // (its callback returns it).
  if (!(job.file && job.file.reading)) dropCur(job);
}
function dropCur(job: Job) {
  const s = job.cur;
  job.cur = null;
  if (s && !s.main && !s.hash) {
    s.job = null;
    free.push(s);
  }
}
function fail(job: Job, message: string) {
  if (jobs.get(job.id) !== job) return;
  if (job.hash) toHasher({ type: "abort", id: job.id });
  finish(job, { type: "error", message });
}

// Slots: 2 MiB of shared memory each, read by the main thread (and, when the hasher hashes the
// job, by the hasher at the same time), free again when its readers have released it. A message
// (tens of microseconds between threads, as much as hashing 30-60 KiB) carries 2 MiB rather than
// one zlib chunk, and nothing is allocated per chunk on any thread.
const SLOT = 2 * 1024 * 1024;
const slots: Slot[] = [];
const free: Slot[] = [];
function takeSlot(job: Job): Slot {
  let s = free.pop();
  if (!s) {
    s = { i: slots.length, sab: new SharedArrayBuffer(SLOT), job: null, len: 0, main: false, hash: false };
    slots.push(s);
  }
  s.job = job;
  s.len = 0;
  return s;
}
function release(s: Slot) {
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
function flush(job: Job) {
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
  if (job.hash) toHasher({ type: "data", id: job.id, sab: s.sab, slot: s.i, len: s.len });
  if (job.out > OUT_AHEAD && job.t && !job.t.isPaused()) job.t.pause();
}
function emit(job: Job, chunk: Uint8Array) {
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
function end(job: Job) {
  flush(job);
  job.ending = true;
  if (job.hash) toHasher({ type: "end", id: job.id });
  else finish(job, { type: "done" });
}

// zstd through the native binding, straight into the slots. (zstd-napi's stream decompresses a
// whole input chunk before returning, whatever it expands to: one MiB of a zstd bomb would be
// gigabytes at once. Here decoding stops whenever OUT_AHEAD bytes wait for the readers and
// resumes as they release slots.)
function zstdPump(job: Job) {
  while (job.zin.length && job.out <= OUT_AHEAD && jobs.get(job.id) === job) {
    const head = job.zin[0]!;
    if (!job.cur) job.cur = takeSlot(job);
    const s = job.cur;
    const dst = new Uint8Array(s.sab, s.len, SLOT - s.len);
    let r;
    try {
      r = job.dctx!.decompressStream(dst, head.src);
    } catch (e) {
      fail(job, (e as Error).message);
      return;
    }
    const ret = r[0],
      produced = r[1],
      consumed = r[2];
    s.len += produced;
    job.inFrame = ret !== 0;
    head.src = head.src.subarray(consumed);
    // An input chunk is done when it is consumed and the decoder holds no more output for it.
    const drained = head.src.length === 0 && (produced < dst.length || ret === 0);
    if (s.len === SLOT) flush(job);
    if (drained) {
      const done = job.zin.shift()!;
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
function readFile(job: Job) {
  const f = job.file!;
  if (f.reading || job.ended || jobs.get(job.id) !== job || job.out > OUT_AHEAD) return;
  if (job.dctx && job.zin.length) return; // zstdPump asks again when it has consumed the input
  if (f.left === 0) return input(job, null);
  const plain = !job.dctx && !job.t;
  if (plain && !job.cur) job.cur = takeSlot(job);
  // Plain: the rest of the slot being filled; compressed: the job's read buffer.
  const owner = plain ? null : (job.spare ?? Buffer.allocUnsafe(READ));
  const dst = owner ?? new Uint8Array(job.cur!.sab, job.cur!.len, SLOT - job.cur!.len);
  if (!plain) job.spare = null;
  const n = Math.min(dst.length, f.left);
  f.reading = true;
  const go = (fd: number) =>
    read(fd, dst, 0, n, f.pos, (e, got) => {
      f.reading = false;
      if (jobs.get(job.id) !== job) return dropCur(job);
      if (e) return fail(job, e.message);
      f.pos += got;
      f.left = got === 0 ? 0 : f.left - got;
      if (plain) {
        job.cur!.len += got;
        if (job.cur!.len === SLOT) flush(job);
        readFile(job);
      } else if (got > 0) input(job, owner!.subarray(0, got), owner!);
      else input(job, null);
    });
  if (f.fd !== null) go(f.fd);
  else
    open(f.path, "r", (e, fd) => {
      if (e) {
        f.reading = false;
        return fail(job, e.message);
      }
      if (jobs.get(job.id) !== job) return close(fd, () => {});
      f.fd = fd;
      go(fd);
    });
}
/**
 * Compressed input for a job (null: the end of it), from the main thread or from its file;
 * `owner`, a read buffer that goes back to the job when the decoder is done with it.
 */
function input(job: Job, buf: Buffer | null, owner?: Buffer) {
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

function onHasherMessage(m: FromHasher) {
  if (m.type === "hashed") {
    const s = slots[m.slot]!;
    s.hash = false;
    release(s);
  } else if (m.type === "digest") {
    const job = jobs.get(m.id);
    if (job) finish(job, { type: "done", digest: m.digest });
  }
}

parent.on("message", (m: ToDecompressor) => {
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
    const job: Job = {
      id: m.id,
      hash: m.hash,
      spare: null,
      out: 0,
      t: null,
      dctx: null,
      zin: [],
      ended: false,
      ending: false,
      inFrame: false,
      cur: null,
      file: m.file
        ? { path: m.file.path, pos: m.file.start, left: m.file.length, fd: null, reading: false }
        : null,
    };
    jobs.set(m.id, job);
    if (job.hash) toHasher({ type: "start", id: m.id });
    if (m.compression === "zstd") {
      job.dctx = decoders.pop() ?? newDecoder();
    } else if (m.compression === "gzip") {
      const t = createGunzip({ chunkSize: 256 * 1024 });
      job.t = t;
      t.on("data", (c: Buffer) => {
        if (jobs.get(job.id) === job) emit(job, c);
      });
      t.on("end", () => {
        if (jobs.get(job.id) === job) end(job);
      });
      t.on("error", (e) => fail(job, e.message));
    }
    if (job.file) readFile(job);
    return;
  }
  if (m.type === "abort") {
    const job = jobs.get(m.id);
    if (job) {
      drop(job);
      if (job.hash) toHasher({ type: "abort", id: m.id });
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
