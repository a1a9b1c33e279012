import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { closeSync, openSync, readSync } from "node:fs";
import { Readable } from "node:stream";
import { MessageChannel, type TransferListItem, type Worker } from "node:worker_threads";
import { startThread } from "../core/threads.js";
import { detectCompression, peek, type Compression } from "./layer.js";
import type {
  DecompressorData,
  FromDecompressor,
  HasherData,
  ToDecompressor,
} from "./layer-worker-protocol.js";
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
 * The decompressor is ./layer-worker-thread.cts, the hasher ./hasher-thread.cts (started as
 * core/threads.ts startThread says); their messages are typed in ./layer-worker-protocol.ts.
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

interface JobHandlers {
  message(m: FromDecompressor): void;
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
    const workerData: DecompressorData = { zstdBindingPath, outAhead: OUT_AHEAD };
    this.worker = startThread(new URL("./layer-worker-thread.cjs", import.meta.url), {
      workerData,
      resourceLimits: RESOURCE_LIMITS,
    });
    this.worker.on("message", (m: FromDecompressor) => this.jobs.get(m.id)?.message(m));
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
    const workerData: HasherData = { port: port2 };
    this.hasher = startThread(new URL("./hasher-thread.cjs", import.meta.url), {
      workerData,
      transferList: [port2],
      resourceLimits: RESOURCE_LIMITS,
    });
    this.hasher.unref();
    this.post({ type: "hasher", port: port1 }, [port1]);
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

  post(m: ToDecompressor, transfer?: TransferListItem[]): void {
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
