import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";

/**
 * HTTP helpers shared by the registry protocol tests (conformance.test.ts, bad-input.test.ts):
 * plain fetch against a registry base URL, answers read whole, error bodies parsed.
 */

export const sha256 = (data: Buffer | string): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

export interface Res {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
  /** The response body parsed as JSON (throws when it is not JSON). */
  json<T = unknown>(): T;
  header(name: string): string | null;
}

export interface ReqOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | ReadableStream<Uint8Array>;
  query?: Record<string, string>;
}

export class Client {
  constructor(readonly base: string) {}

  /** `path` is absolute (`/v2/...`) or a Location header value (relative or absolute). */
  async req(method: string, path: string, opts: ReqOptions = {}): Promise<Res> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const init: RequestInit & { duplex?: "half" } = { method, headers: opts.headers, redirect: "manual" };
    if (opts.body !== undefined) {
      // A Buffer is a Uint8Array, which fetch sends as is (its BodyInit type predates that).
      init.body = opts.body as unknown as BodyInit;
      if (opts.body instanceof ReadableStream) init.duplex = "half";
    }
    const r = await fetch(url, init);
    const body = Buffer.from(await r.arrayBuffer());
    const text = body.toString("utf8");
    return {
      status: r.status,
      headers: r.headers,
      body,
      text,
      json: <T>() => JSON.parse(text) as T,
      header: (name: string) => r.headers.get(name),
    };
  }

  /** POST then PUT (the spec's "POST then PUT" monolithic upload). Returns the final answer. */
  async pushBlob(name: string, data: Buffer): Promise<Res> {
    const post = await this.req("POST", `/v2/${name}/blobs/uploads/`);
    if (post.status !== 202) return post;
    return this.req("PUT", post.header("location")!, {
      query: { digest: sha256(data) },
      headers: { "Content-Type": "application/octet-stream" },
      body: data,
    });
  }

  async pushManifest(
    name: string,
    reference: string,
    body: Buffer | string,
    mediaType: string,
  ): Promise<Res> {
    return this.req("PUT", `/v2/${name}/manifests/${reference}`, {
      headers: { "Content-Type": mediaType },
      body: typeof body === "string" ? Buffer.from(body) : body,
    });
  }
}

/** The first error of a spec error body, `{"errors":[{"code","message","detail"}]}`. */
export function errorOf(r: Res): { code: string; message?: string; detail?: unknown } {
  const parsed = r.json<{ errors: { code: string; message?: string; detail?: unknown }[] }>();
  if (!Array.isArray(parsed.errors) || parsed.errors.length === 0) {
    throw new Error(`no errors array in ${r.text}`);
  }
  return parsed.errors[0]!;
}

/** The codes the spec's error table allows (v1.1, "Error Codes"). */
export const SPEC_ERROR_CODES = [
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
];

/** Asserts the spec's error body shape; returns the first error. */
export function specError(r: Res): { code: string; message?: string; detail?: unknown } {
  const ct = r.header("content-type") ?? "";
  if (!/^application\/json/.test(ct)) throw new Error(`error body is ${ct}, not JSON: ${r.text}`);
  const parsed = r.json<{ errors: unknown }>();
  if (!Array.isArray(parsed.errors)) throw new Error(`no errors array in ${r.text}`);
  for (const e of parsed.errors as { code: unknown; message: unknown }[]) {
    if (typeof e.code !== "string" || !SPEC_ERROR_CODES.includes(e.code)) {
      throw new Error(`error code ${String(e.code)} is not in the spec's table`);
    }
    if (e.message !== undefined && typeof e.message !== "string") throw new Error("message not a string");
  }
  return errorOf(r);
}

/** A request with a raw (unnormalized) path, which fetch cannot send (it resolves `..`). */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    r.on("error", reject);
    r.end(body);
  });
}

/**
 * Sends the head of a request and part of its body over a raw socket, then destroys the
 * socket: a client that vanishes mid-upload. Resolves once the socket is closed.
 */
export function abortMidBody(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  partialBody: Buffer,
): Promise<void> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname, () => {
      const head =
        `${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\n` +
        Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("") +
        "\r\n";
      socket.write(head);
      socket.write(partialBody, () => {
        // Give the server time to start streaming the chunk to storage, then vanish.
        setTimeout(() => socket.destroy(), 100);
      });
    });
    socket.on("close", () => resolve());
    socket.on("error", reject);
  });
}

/**
 * Writes a request head and `body` over a raw socket without ending the request, then
 * reads whatever the server answers until it closes the connection: for answers a server
 * gives before the body is complete (413 on an oversized body), which an ordinary client
 * may miss because its write fails first.
 */
export function answerBeforeBodyEnds(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs = 10_000,
): Promise<{ status: number; head: string; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(u.port), u.hostname, () => {
      const head =
        `${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\n` +
        Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("") +
        "\r\n";
      socket.write(head);
      // The server may close while this is still being written: that is the point.
      socket.write(body, () => undefined);
    });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined); // EPIPE/ECONNRESET once the server has answered
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m) {
        reject(
          new Error(`no HTTP answer before the connection closed: ${JSON.stringify(text.slice(0, 200))}`),
        );
        return;
      }
      const split = text.indexOf("\r\n\r\n");
      resolve({ status: Number(m[1]), head: text.slice(0, split), body: text.slice(split + 4) });
    });
  });
}
