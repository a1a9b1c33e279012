import { connect, type Socket } from "node:net";
import { Readable, type Writable } from "node:stream";
import type { ByteRange, DirectBlobStream } from "./types.js";

/**
 * A GET of an object by presigned URL over a plain socket, relayed with one reused buffer.
 *
 * Why not the SDK's stream: a blob sent to a client through node:http's client costs about
 * 4x the CPU of these bytes' socket reads and writes (the HTTP parser per chunk, a fresh
 * buffer per read and the GC that follows); measured on radosgw, 100 MiB: 0.23–0.43 CPU-s
 * through the SDK, 0.06 here, the time equal to curl's (docs/benchmarks.md). The object is
 * fetched with `Connection: close` and a `Content-Length` body, the only framing accepted
 * (a chunked answer is refused with UnsupportedFraming before any byte is delivered, and the
 * caller falls back to the SDK). Plain HTTP only: a TLS socket has no `onread` buffer.
 *
 * `openObject` resolves once the response head is read (a 404 rejects then, as an open
 * should); the body is then either written to a destination (`writeTo`: the socket reads
 * into the reused buffer, pauses, writes it, resumes when the write is done) or read as a
 * stream (a copy per chunk, for callers that read).
 */

const BUFFER_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const pool: Buffer[] = [];
const POOL_MAX = 16;

export class ObjectGetError extends Error {
  constructor(
    message: string,
    /** The object store's HTTP status, or 0 when the exchange failed before one. */
    readonly status: number,
  ) {
    super(message);
    this.name = "ObjectGetError";
  }
}

/** The answer was not a Content-Length body: use another client. */
export class UnsupportedFraming extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedFraming";
  }
}

export function canGetDirectly(url: URL): boolean {
  return url.protocol === "http:";
}

type Mode =
  | { kind: "head" }
  | { kind: "idle" }
  | { kind: "write"; dest: Writable; onChunk?: (n: number) => void; done: (e?: Error) => void }
  | { kind: "read" };

class ObjectStream extends Readable implements DirectBlobStream {
  mode: Mode = { kind: "head" };
  /** Body bytes that arrived with the head (a copy). */
  pending: Buffer | null = null;
  remaining = 0;
  finished = false;

  constructor(
    readonly socket: Socket,
    readonly buffer: Buffer,
  ) {
    super({ highWaterMark: BUFFER_BYTES });
  }

  /** One read of the socket (into `buffer`), valid until the next read. */
  body(data: Buffer): void {
    if (this.finished) return;
    // Bytes past the declared length are not the object's (Connection: close ends it anyway).
    const chunk = data.length > this.remaining ? data.subarray(0, Math.max(0, this.remaining)) : data;
    this.remaining -= chunk.length;
    const m = this.mode;
    if (m.kind === "write") {
      this.socket.pause();
      m.onChunk?.(chunk.length);
      m.dest.write(chunk, (e) => {
        if (e) return this.fail(e);
        if (this.remaining <= 0) return this.complete();
        this.socket.resume();
      });
    } else if (m.kind === "read") {
      if (!this.push(Buffer.from(chunk))) this.socket.pause();
      if (this.remaining <= 0) this.complete();
    } else {
      // Not consumed yet (idle): keep a copy; the socket is paused right after the head.
      this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
      this.socket.pause();
    }
  }

  complete(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
    const m = this.mode;
    if (m.kind === "write") m.done();
    else if (m.kind === "read") this.push(null);
  }

  fail(e: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
    const m = this.mode;
    if (m.kind === "write") m.done(e);
    else this.destroy(e);
  }

  release(): void {
    this.socket.destroy();
    // The socket reads into `buffer` no more once destroyed.
    if (pool.length < POOL_MAX) pool.push(this.buffer);
  }

  writeTo(dest: Writable, onChunk?: (bytes: number) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onClose = () => this.fail(new Error("destination closed before the blob was sent"));
      dest.once("close", onClose);
      const mode: Mode = {
        kind: "write",
        dest,
        onChunk,
        done: (e) => {
          dest.off("close", onClose);
          this.destroy();
          if (e) reject(e);
          else resolve();
        },
      };
      this.mode = mode;
      // What arrived before: the pending bytes, maybe the whole body.
      const next = (e?: Error | null) => {
        if (e) return this.finished ? mode.done(e) : this.fail(e);
        if (this.finished) return mode.done();
        if (this.remaining <= 0) return this.complete();
        this.socket.resume();
      };
      const first = this.pending;
      this.pending = null;
      if (first) {
        onChunk?.(first.length);
        dest.write(first, next);
      } else next();
    });
  }

  override _read(): void {
    if (this.mode.kind === "idle") {
      this.mode = { kind: "read" };
      if (this.pending) {
        this.push(this.pending);
        this.pending = null;
      }
      // The whole body may have arrived with the head.
      if (this.finished) {
        this.push(null);
        return;
      }
      if (this.remaining <= 0) return this.complete();
    }
    if (!this.finished) this.socket.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.finished) {
      this.finished = true;
      this.socket.destroy();
    }
    cb(err);
  }
}

/** GETs `url` (a presigned object URL, plain HTTP); resolves after the response head. */
export function openObject(url: URL, range?: ByteRange): Promise<ObjectStream> {
  const buffer = pool.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
  // Set once the head is read; until then errors reject the open.
  let stream: ObjectStream | undefined;
  let head: Buffer | null = Buffer.alloc(0);
  return new Promise<ObjectStream>((resolve, reject) => {
    let settled = false;
    const failHead = (e: Error) => {
      if (settled) return stream?.fail(e);
      settled = true;
      socket.destroy();
      if (pool.length < POOL_MAX) pool.push(buffer);
      reject(e);
    };
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 80),
      onread: {
        buffer,
        // Pausing is explicit (socket.pause) where the chunk is handed on; true never pauses.
        callback: (n: number, buf: Uint8Array): boolean => {
          onRead(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    const onRead = (chunk: Buffer): void => {
      if (head === null) {
        // (after a refused head, nothing: the socket is being destroyed)
        stream?.body(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) failHead(new ObjectGetError("response head too large", 0));
        return;
      }
      const lines = head.subarray(0, end).toString("latin1").split("\r\n");
      const rest = head.subarray(end + 4);
      head = null;
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      if (status !== 200 && status !== 206) {
        failHead(new ObjectGetError(`GET ${url.pathname}: HTTP ${status || "(no status)"}`, status));
        return;
      }
      const length = headers.get("content-length");
      if (headers.has("transfer-encoding") || length === undefined || !/^\d+$/.test(length)) {
        failHead(new UnsupportedFraming(`GET ${url.pathname}: no Content-Length body`));
        return;
      }
      const opened = new ObjectStream(socket, buffer);
      stream = opened;
      opened.remaining = Number(length);
      settled = true;
      opened.mode = { kind: "idle" };
      if (rest.length) opened.body(rest);
      else if (opened.remaining > 0) socket.pause();
      if (opened.remaining <= 0) opened.complete();
      resolve(opened);
    };
    socket.setNoDelay(true);
    socket.on("error", (e) => failHead(e));
    socket.on("close", () => {
      if (stream && !stream.finished) stream.fail(new Error(`GET ${url.pathname}: connection closed early`));
      else if (!settled) failHead(new ObjectGetError(`GET ${url.pathname}: connection closed`, 0));
    });
    socket.on("connect", () => {
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          (range ? `Range: bytes=${range.start}-${range.end}\r\n` : "") +
          "Connection: close\r\n\r\n",
      );
    });
  });
}
