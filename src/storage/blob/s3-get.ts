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
 * fetched with a `Content-Length` body, the only framing accepted (a chunked answer is refused
 * with UnsupportedFraming before any byte is delivered, and the caller falls back to the SDK).
 * Plain HTTP only: a TLS socket has no `onread` buffer.
 *
 * Sockets are kept alive: a pull is a GET per blob, and a new TCP connection per blob was
 * most of what separated a streaming pull from Distribution's (docs/benchmarks.md). A socket
 * goes back to a small idle pool per host:port only when its answer was read whole (exactly
 * Content-Length bytes, the server did not say `Connection: close`); an error, an abort, a
 * partial read or bytes past the length close it, and so does idling for IDLE_MS. A GET
 * that a reused socket loses before any byte of the answer (the server closed it meanwhile)
 * is sent again once on a new socket.
 *
 * `openObject` resolves once the response head is read (a 404 rejects then, as an open
 * should); the body is then either written to a destination (`writeTo`: the socket reads
 * into the reused buffer, pauses, writes it, resumes when the write is done) or read as a
 * stream (a copy per chunk, for callers that read).
 */

const BUFFER_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
/** Read buffers of closed sockets, for the next new socket. */
const buffers: Buffer[] = [];
const BUFFERS_MAX = 16;
/** Idle sockets kept per host:port (each holds its read buffer while it lives). */
const IDLE_PER_HOST = 8;
/**
 * How long an idle socket is kept. radosgw (beast) closes idle connections after about a
 * minute and S3 after a few seconds; well under both, so that reuse seldom meets a socket the
 * server is closing (and when it does, the GET is retried on a new one).
 */
const IDLE_MS = 4_000;

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

/**
 * A socket to the object store with its read buffer. The `onread` callback and the socket's
 * events are bound once, at connect; they are handed to whoever uses the socket now (an open
 * awaiting its head, a stream relaying a body, or the idle pool).
 */
class Conn {
  onData: (chunk: Buffer) => void = () => this.socket.destroy();
  /** The socket closed or failed (`e` when it failed). */
  onLost: (e?: Error) => void = () => undefined;
  idleTimer: NodeJS.Timeout | undefined;
  closed = false;

  constructor(
    readonly key: string,
    readonly socket: Socket,
    readonly buffer: Buffer,
  ) {}

  /** Closes the socket for good; its buffer goes back once it has closed. */
  discard(): void {
    this.onData = () => undefined;
    this.onLost = () => undefined;
    this.socket.destroy();
  }
}

const idle = new Map<string, Conn[]>();

function dial(key: string, host: string, port: number): Conn {
  const buffer = buffers.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
  const socket = connect({
    host,
    port,
    onread: {
      buffer,
      // Pausing is explicit (socket.pause) where the chunk is handed on; true never pauses.
      callback: (n: number, buf: Uint8Array): boolean => {
        conn.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  });
  const conn = new Conn(key, socket, buffer);
  socket.setNoDelay(true);
  socket.on("error", (e) => conn.onLost(e));
  socket.on("close", () => {
    conn.closed = true;
    unpool(conn);
    conn.onLost();
    // A closed socket reads into its buffer no more.
    if (buffers.length < BUFFERS_MAX) buffers.push(buffer);
  });
  return conn;
}

function unpool(conn: Conn): void {
  clearTimeout(conn.idleTimer);
  const list = idle.get(conn.key);
  const i = list?.indexOf(conn) ?? -1;
  if (i >= 0) list!.splice(i, 1);
  if (list?.length === 0) idle.delete(conn.key);
}

/** Keeps a socket whose last answer was read whole, for the next GET to the same host. */
function pool(conn: Conn, idleMs: number): void {
  const list = idle.get(conn.key) ?? [];
  if (conn.closed || idleMs <= 0 || list.length >= IDLE_PER_HOST) return conn.discard();
  // Idle, any byte is out of turn and a close just removes it; reading on notices the close.
  conn.onData = () => conn.discard();
  conn.onLost = () => undefined;
  conn.socket.resume();
  conn.socket.unref();
  conn.idleTimer = setTimeout(() => conn.discard(), idleMs);
  conn.idleTimer.unref();
  list.push(conn);
  idle.set(conn.key, list);
}

/** The most recently used idle socket to `key`, taken out of the pool. */
function takeIdle(key: string): Conn | undefined {
  const list = idle.get(key);
  for (let conn = list?.pop(); conn; conn = list?.pop()) {
    clearTimeout(conn.idleTimer);
    // Ended by the server, its close not yet seen: no use.
    if (!conn.socket.writable) {
      conn.discard();
      continue;
    }
    if (list?.length === 0) idle.delete(key);
    conn.socket.ref();
    return conn;
  }
  idle.delete(key);
  return undefined;
}

/** Closes every idle socket (at shutdown, and between tests). */
export function closeIdleObjectConnections(): void {
  for (const list of [...idle.values()]) for (const conn of [...list]) conn.discard();
  idle.clear();
}

/** How many idle sockets are kept (for tests). */
export function idleObjectConnections(): number {
  let n = 0;
  for (const list of idle.values()) n += list.length;
  return n;
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
  /** Bytes came past the declared length: the socket cannot carry another exchange. */
  overrun = false;

  constructor(
    readonly conn: Conn,
    /** How long the socket may idle in the pool once the body is read; 0: close it. */
    readonly keepMs: number,
  ) {
    super({ highWaterMark: BUFFER_BYTES });
  }

  get socket(): Socket {
    return this.conn.socket;
  }

  /** One read of the socket (into its buffer), valid until the next read. */
  body(data: Buffer): void {
    if (this.finished) return;
    // Bytes past the declared length are not the object's.
    let chunk = data;
    if (data.length > this.remaining) {
      chunk = data.subarray(0, Math.max(0, this.remaining));
      this.overrun = true;
    }
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
    // Every byte of the answer is read and none more: the socket can serve the next GET.
    if (this.overrun) this.conn.discard();
    else pool(this.conn, this.keepMs);
    const m = this.mode;
    if (m.kind === "write") m.done();
    else if (m.kind === "read") this.push(null);
  }

  fail(e: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.conn.discard();
    const m = this.mode;
    if (m.kind === "write") m.done(e);
    else this.destroy(e);
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
    // Destroyed before its end (an abort): the socket is mid-answer, never reused. Once
    // finished, the socket may already serve another GET: not this stream's to touch.
    if (!this.finished) {
      this.finished = true;
      this.conn.discard();
    }
    cb(err);
  }
}

/** A reused socket closed before answering (the server closed it meanwhile): ask again. */
class StaleSocket extends Error {}

/**
 * GETs `url` (a presigned object URL, plain HTTP); resolves after the response head. Reuses an
 * idle socket to the same host when there is one; a GET that a reused socket loses before any
 * byte of an answer is sent again once, on a new socket (a GET is safe to repeat).
 */
export async function openObject(url: URL, range?: ByteRange): Promise<ObjectStream> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 80);
  const key = `${host}:${port}`;
  const reused = takeIdle(key);
  if (reused) {
    try {
      return await exchange(reused, true, url, range);
    } catch (e) {
      if (!(e instanceof StaleSocket)) throw e;
    }
  }
  return exchange(dial(key, host, port), false, url, range);
}

function exchange(conn: Conn, reused: boolean, url: URL, range?: ByteRange): Promise<ObjectStream> {
  let head: Buffer = Buffer.alloc(0);
  return new Promise<ObjectStream>((resolve, reject) => {
    let answered = false;
    const failHead = (e: Error) => {
      conn.discard();
      reject(e);
    };
    conn.onLost = (e) => {
      if (reused && !answered) failHead(new StaleSocket(e?.message ?? "closed"));
      else failHead(e ?? new ObjectGetError(`GET ${url.pathname}: connection closed`, 0));
    };
    conn.onData = (chunk: Buffer): void => {
      answered = true;
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) failHead(new ObjectGetError("response head too large", 0));
        return;
      }
      const lines = head.subarray(0, end).toString("latin1").split("\r\n");
      const rest = head.subarray(end + 4);
      const version = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? "");
      const status = Number(version?.[2] ?? 0);
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      // A server may answer 408 on the idle socket it is closing: the GET was never served.
      if (reused && status === 408) return failHead(new StaleSocket("408 on a reused socket"));
      if (status !== 200 && status !== 206) {
        failHead(new ObjectGetError(`GET ${url.pathname}: HTTP ${status || "(no status)"}`, status));
        return;
      }
      const length = headers.get("content-length");
      if (headers.has("transfer-encoding") || length === undefined || !/^\d+$/.test(length)) {
        failHead(new UnsupportedFraming(`GET ${url.pathname}: no Content-Length body`));
        return;
      }
      const opened = new ObjectStream(conn, keepAliveMs(version?.[1] === "1", headers));
      opened.remaining = Number(length);
      opened.mode = { kind: "idle" };
      conn.onData = (c) => opened.body(c);
      conn.onLost = (e) =>
        opened.fail(e && e.message ? e : new Error(`GET ${url.pathname}: connection closed early`));
      if (rest.length) opened.body(rest);
      else if (opened.remaining > 0) conn.socket.pause();
      if (opened.remaining <= 0) opened.complete();
      resolve(opened);
    };
    conn.socket.write(
      `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
        (range ? `Range: bytes=${range.start}-${range.end}\r\n` : "") +
        "\r\n",
    );
  });
}

/** How long the server lets the socket idle after this answer: 0 when it closes it. */
function keepAliveMs(http11: boolean, headers: Map<string, string>): number {
  const connection = (headers.get("connection") ?? "").toLowerCase();
  if (/\bclose\b/.test(connection) || (!http11 && !/\bkeep-alive\b/.test(connection))) return 0;
  // `Keep-Alive: timeout=5`: leave a second's margin before the server's own limit.
  const timeout = /\btimeout=(\d+)/i.exec(headers.get("keep-alive") ?? "")?.[1];
  return timeout === undefined ? IDLE_MS : Math.min(IDLE_MS, (Number(timeout) - 1) * 1000);
}
