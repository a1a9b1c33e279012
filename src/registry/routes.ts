import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { RegistryError } from "../core/errors.js";
import { MediaTypes } from "../core/media-types.js";
import type { AccessRequest, Authorizer } from "../auth/types.js";
import { isDirectBlobStream } from "../storage/blob/types.js";
import type { RegistryService } from "./service.js";

/**
 * OCI Distribution Spec v1.1 endpoints under /v2/. Repository names contain slashes, so
 * one wildcard route parses the path itself (end-NN references are from the spec).
 */
type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; id: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "referrers"; name: string; digest: string };

export function parseRoute(path: string): Route | null {
  if (path === "/v2" || path === "/v2/") return { kind: "base" };
  if (path === "/v2/_catalog") return { kind: "catalog" };
  let m: RegExpExecArray | null;
  if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(path))) return { kind: "tags", name: m[1]! };
  if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path)))
    return { kind: "manifest", name: m[1]!, reference: m[2]! };
  if ((m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(path))) return { kind: "uploads", name: m[1]! };
  if ((m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(path)))
    return { kind: "upload", name: m[1]!, id: m[2]! };
  if ((m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path))) return { kind: "blob", name: m[1]!, digest: m[2]! };
  if ((m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(path)))
    return { kind: "referrers", name: m[1]!, digest: m[2]! };
  return null;
}

const METHODS: Record<Route["kind"], string[]> = {
  base: ["GET", "HEAD"],
  catalog: ["GET"],
  tags: ["GET"],
  manifest: ["GET", "HEAD", "PUT", "DELETE"],
  uploads: ["POST"],
  upload: ["GET", "PATCH", "PUT", "DELETE"],
  blob: ["GET", "HEAD", "DELETE"],
  referrers: ["GET"],
};

/** The access a request needs, in Docker token scope terms. */
function requiredAccess(route: Route, method: string): AccessRequest[] {
  switch (route.kind) {
    case "base":
      return [];
    case "catalog":
      return [{ type: "registry", name: "catalog", actions: ["*"] }];
    default: {
      // An upload session (status, chunks, cancel) belongs to a push, whatever the method.
      const action =
        route.kind === "upload"
          ? "push"
          : method === "GET" || method === "HEAD"
            ? "pull"
            : method === "DELETE"
              ? "delete"
              : "push";
      // Pull on a cross-repository mount's `from` is checked in the handler: without it the
      // mount is skipped, not refused.
      return [
        { type: "repository", name: route.name, actions: action === "push" ? ["pull", "push"] : [action] },
      ];
    }
  }
}

const MAX_PAGE = 1000;

export interface RegistryRoutesOptions {
  service: RegistryService;
  auth: Authorizer;
  maxManifestBytes: number;
  onBytes?: (direction: "in" | "out", route: string, bytes: number) => void;
  /**
   * Blob GETs answer 307 to a presigned URL of the blob store (when it can make one: S3)
   * instead of streaming the bytes through this node, as Distribution's `redirect` does.
   */
  blobRedirect?: boolean;
}

/** Lifetime of a presigned blob URL handed to a client (Distribution: 20 minutes). */
const REDIRECT_TTL_SECONDS = 20 * 60;

export function registerRegistryRoutes(app: FastifyInstance, opts: RegistryRoutesOptions): void {
  const { service, auth } = opts;
  // Blob bytes as stored (chunked transfer encoding has no Content-Length to count).
  const received = (bytes: number) => opts.onBytes?.("in", "blob", bytes);

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    reply.header("Docker-Distribution-API-Version", "registry/2.0");
    // The raw request target, not a WHATWG URL: URL parsing would resolve `a/../b` to `b`
    // and act on another repository; here `..` stays in the name and fails its grammar.
    const raw = req.raw.url ?? req.url;
    const q = raw.indexOf("?");
    const route = parseRoute(decodePath(q < 0 ? raw : raw.slice(0, q)));
    if (!route) throw new RegistryError("UNSUPPORTED", "no such endpoint under /v2/", undefined, 404);
    if (!METHODS[route.kind].includes(req.method)) {
      const e = new RegistryError(
        "UNSUPPORTED",
        `${req.method} is not supported on this endpoint`,
        undefined,
        405,
      );
      e.headers = { Allow: METHODS[route.kind].join(", ") };
      throw e;
    }
    const query = Object.fromEntries(new URLSearchParams(q < 0 ? "" : raw.slice(q + 1))) as Record<
      string,
      string | undefined
    >;
    (req as { routeKind?: string }).routeKind = route.kind;
    const authCtx = {
      host: req.headers.host,
      protocol: req.protocol === "https" ? "https" : "http",
    } as const;
    const principal = await auth.authorize(
      req.headers.authorization,
      requiredAccess(route, req.method),
      authCtx,
    );
    if (route.kind === "uploads" && query.mount && query.from) {
      // Mounting reads `from`: without pull there, fall back to a normal upload (spec: the
      // registry may ignore the mount), never reveal whether the blob exists there.
      const from = { type: "repository" as const, name: query.from, actions: ["pull"] };
      const mayPull = await auth.authorize(req.headers.authorization, [from], authCtx).then(
        () => true,
        (e: unknown) => {
          if (e instanceof RegistryError) return false;
          throw e;
        },
      );
      if (!mayPull) query.from = undefined;
    }
    if (route.kind !== "base" && route.kind !== "catalog") service.checkName(route.name);

    switch (route.kind) {
      case "base":
        return reply.code(200).header("Content-Type", "application/json").send("{}");
      case "catalog":
        return catalog(req, reply, query);
      case "tags":
        return tags(req, reply, route.name, query);
      case "manifest":
        return manifest(req, reply, route.name, route.reference, principal.username);
      case "uploads":
        return startUpload(req, reply, route.name, query);
      case "upload":
        return upload(req, reply, route.name, route.id, query);
      case "blob":
        return blob(req, reply, route.name, route.digest);
      case "referrers": {
        // An empty artifactType filters nothing (no manifest has an empty type): ignore it.
        const artifactType = query.artifactType || undefined;
        const body = await service.referrers(route.name, route.digest, artifactType);
        if (artifactType !== undefined) reply.header("OCI-Filters-Applied", "artifactType");
        return reply.code(200).header("Content-Type", MediaTypes.ociIndex).send(body);
      }
    }
  };

  async function catalog(
    req: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, string | undefined>,
  ) {
    const n = pageSize(query.n);
    const page = await service.catalog(n, query.last);
    if (page.more && page.repositories.length) {
      const last = page.repositories[page.repositories.length - 1]!;
      reply.header("Link", `</v2/_catalog?last=${encodeURIComponent(last)}&n=${n}>; rel="next"`);
    }
    return reply
      .code(200)
      .header("Content-Type", "application/json")
      .send({ repositories: page.repositories });
  }

  async function tags(
    req: FastifyRequest,
    reply: FastifyReply,
    name: string,
    query: Record<string, string | undefined>,
  ) {
    const n = pageSize(query.n);
    const page = await service.listTags(name, n, query.last);
    if (page.more && page.tags.length) {
      const last = page.tags[page.tags.length - 1]!;
      reply.header("Link", `</v2/${name}/tags/list?last=${encodeURIComponent(last)}&n=${n}>; rel="next"`);
    }
    return reply.code(200).header("Content-Type", "application/json").send({ name, tags: page.tags });
  }

  async function manifest(
    req: FastifyRequest,
    reply: FastifyReply,
    name: string,
    reference: string,
    user: string | null,
  ) {
    if (req.method === "PUT") {
      const body = await readBody(req.raw, opts.maxManifestBytes);
      opts.onBytes?.("in", "manifest", body.length);
      const r = await service.putManifest(name, reference, body, req.headers["content-type"]);
      reply.header("Location", `/v2/${name}/manifests/${r.digest}`).header("Docker-Content-Digest", r.digest);
      if (r.subject) reply.header("OCI-Subject", r.subject);
      return reply.code(201).header("Content-Length", "0").send();
    }
    if (req.method === "DELETE") {
      await service.deleteManifest(name, reference);
      return reply.code(202).header("Content-Length", "0").send();
    }
    const m = await service.getManifest(name, reference, { pull: req.method === "GET", user });
    // Manifests are served byte for byte as pushed, never converted, so there is only one
    // representation. RFC 9110 lets a server disregard an Accept header none of whose types
    // it can offer; the spec requires 200 for an existing manifest, and the spec's
    // maintainers advise against 406 (distribution-spec#218). The client learns the type
    // from Content-Type and gets a Warning (spec "Warnings": code 299, agent "-").
    if (!accepts(header(req, "accept"), m.mediaType)) {
      reply.header(
        "Warning",
        `299 - "the manifest is ${m.mediaType}, which the Accept header does not list"`,
      );
    }
    reply
      .code(200)
      .header("Content-Type", m.mediaType)
      .header("Docker-Content-Digest", m.digest)
      .header("Content-Length", String(m.size))
      .header("ETag", `"${m.digest}"`);
    if (req.method === "HEAD") return reply.send();
    opts.onBytes?.("out", "manifest", m.size);
    return reply.send(m.body);
  }

  async function startUpload(
    req: FastifyRequest,
    reply: FastifyReply,
    name: string,
    query: Record<string, string | undefined>,
  ) {
    if (query.mount) {
      const mounted = query.from ? await service.mount(name, query.mount, query.from) : null;
      if (mounted) {
        return reply
          .code(201)
          .header("Location", `/v2/${name}/blobs/${mounted}`)
          .header("Docker-Content-Digest", mounted)
          .header("Content-Length", "0")
          .send();
      }
    } else if (query.digest) {
      const length = contentLength(req);
      const digest = await service.monolithicUpload(name, query.digest, req.raw, length, received);
      return reply
        .code(201)
        .header("Location", `/v2/${name}/blobs/${digest}`)
        .header("Docker-Content-Digest", digest)
        .header("Content-Length", "0")
        .send();
    }
    const state = await service.startUpload(name);
    return reply
      .code(202)
      .header("Location", `/v2/${name}/blobs/uploads/${state.id}`)
      .header("Docker-Upload-UUID", state.id)
      .header("Range", "0-0")
      .header("OCI-Chunk-Min-Length", "0")
      .header("Content-Length", "0")
      .send();
  }

  async function upload(
    req: FastifyRequest,
    reply: FastifyReply,
    name: string,
    id: string,
    query: Record<string, string | undefined>,
  ) {
    const location = `/v2/${name}/blobs/uploads/${id}`;
    // `Range: 0-<last byte>`. An empty session has no last byte; like Distribution (and the
    // clients written against it) we send 0-0 then, as the POST response does.
    const progress = (size: number) =>
      reply
        .header("Location", location)
        .header("Docker-Upload-UUID", id)
        .header("Range", `0-${Math.max(size - 1, 0)}`)
        .header("Content-Length", "0");
    /**
     * An out-of-order chunk (416) answers with where the session stands, as a status GET
     * would, so that the client can resume without another round trip.
     */
    const withOffsetOnRangeError = async <T>(p: Promise<T>): Promise<T> => {
      try {
        return await p;
      } catch (e) {
        if (e instanceof RegistryError && e.status === 416) {
          const s = await service.uploadStatus(name, id).catch(() => null);
          if (s) {
            e.headers = {
              ...e.headers,
              Location: location,
              "Docker-Upload-UUID": id,
              Range: `0-${Math.max(s.size - 1, 0)}`,
            };
          }
        }
        throw e;
      }
    };
    switch (req.method) {
      case "GET": {
        const s = await service.uploadStatus(name, id);
        return progress(s.size).code(204).send();
      }
      case "DELETE":
        await service.cancelUpload(name, id);
        return reply.code(204).header("Content-Length", "0").send();
      case "PATCH": {
        const before = contentLength(req);
        const s = await withOffsetOnRangeError(
          service.appendUpload(name, id, req.raw, {
            contentRange: header(req, "content-range"),
            contentLength: before,
            onReceived: received,
          }),
        );
        return progress(s.size).code(202).send();
      }
      default: {
        // PUT ?digest=: the body (possibly empty) is the last chunk.
        const length = contentLength(req);
        const hasBody = (length ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
        const digest = await withOffsetOnRangeError(
          service.completeUpload(name, id, query.digest, hasBody ? req.raw : null, {
            contentRange: header(req, "content-range"),
            contentLength: length,
            onReceived: received,
          }),
        );
        if (!hasBody) req.raw.resume();
        return reply
          .code(201)
          .header("Location", `/v2/${name}/blobs/${digest}`)
          .header("Docker-Content-Digest", digest)
          .header("Content-Length", "0")
          .send();
      }
    }
  }

  async function blob(req: FastifyRequest, reply: FastifyReply, name: string, digest: string) {
    if (req.method === "DELETE") {
      await service.deleteBlob(name, digest);
      return reply.code(202).header("Content-Length", "0").send();
    }
    const info = await service.statBlob(name, digest);
    if (req.method === "GET" && opts.blobRedirect && service.blobs.presignedUrl) {
      // Authorized and linked to this repository: the object store serves the bytes (and the Range).
      const url = await service.blobs.presignedUrl(info.digest, REDIRECT_TTL_SECONDS);
      if (url)
        return reply
          .code(307)
          .header("Location", url)
          .header("Docker-Content-Digest", info.digest)
          .header("Content-Length", "0")
          .send();
    }
    reply.header("Accept-Ranges", "bytes");
    const range = parseRange(header(req, "range"), info.size);
    if (range === "unsatisfiable") {
      // RFC 9110: 416 with the blob's size. The spec's error table has no range code;
      // UNSUPPORTED ("the operation is unsupported") is the closest, BLOB_UNKNOWN would
      // wrongly tell the client the blob is missing.
      const e = new RegistryError(
        "UNSUPPORTED",
        `range ${header(req, "range")} is not satisfiable: the blob is ${info.size} bytes`,
        undefined,
        416,
      );
      e.headers = { "Content-Range": `bytes */${info.size}` };
      throw e;
    }
    reply
      .header("Docker-Content-Digest", info.digest)
      .header("Content-Type", "application/octet-stream")
      .header("ETag", `"${info.digest}"`);
    if (range) {
      reply
        .code(206)
        .header("Content-Range", `bytes ${range.start}-${range.end}/${info.size}`)
        .header("Content-Length", String(range.end - range.start + 1));
    } else {
      reply.code(200).header("Content-Length", String(info.size));
    }
    if (req.method === "HEAD") return reply.send();
    const stream = await service.openBlob(info.digest, range ?? undefined);
    const onBytes = opts.onBytes;
    if (isDirectBlobStream(stream)) {
      // Perf: the store writes its pooled buffers straight to the socket (no buffer per
      // chunk, so no GC pressure; docs/benchmarks.md). onResponse hooks still run.
      reply.hijack();
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
      try {
        await stream.writeTo(reply.raw, onBytes ? (n) => onBytes("out", "blob", n) : undefined);
        reply.raw.end();
      } catch {
        // Headers are gone already: cutting the connection is how a short body is reported.
        reply.raw.destroy();
      }
      return reply;
    }
    if (onBytes) stream.on("data", (c: Buffer) => onBytes("out", "blob", c.length));
    return reply.send(stream);
  }

  app.all("/v2", handler);
  app.all("/v2/*", handler);
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function contentLength(req: FastifyRequest): number | undefined {
  const v = header(req, "content-length");
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new RegistryError("SIZE_INVALID", "invalid Content-Length");
  return n;
}

function pageSize(n: string | undefined): number {
  if (n === undefined || n === "") return MAX_PAGE;
  const v = Number(n);
  if (!Number.isInteger(v) || v < 0)
    throw new RegistryError("UNSUPPORTED", "n must be a non-negative integer");
  return Math.min(v, MAX_PAGE);
}

/**
 * A Range header against a blob size (RFC 9110 section 14). Returns the byte range to
 * send (206), null to send the whole blob (200), or "unsatisfiable" (416).
 * One `bytes=start-end`, `bytes=start-` or `bytes=-suffix` is served. Anything else (other
 * units, several ranges, bad syntax) is ignored, which RFC 9110 allows, and the whole blob
 * is sent: clients resuming a download send a single range.
 */
export function parseRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | null | "unsatisfiable" {
  if (value === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/i.exec(value.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] !== "" && m[2] !== "" && Number(m[2]) < Number(m[1])) return null; // invalid, ignored
  let start: number;
  let end: number;
  if (m[1] === "") {
    // Suffix range: the last N bytes. A zero suffix, or any range of an empty blob, selects
    // nothing and is unsatisfiable.
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  return { start, end };
}

/**
 * Does an Accept header admit a media type (RFC 9110 section 12.5.1)? No header admits
 * everything; `*\/*` and `type/*` are wildcards; parameters other than q are ignored; a
 * type with q=0 is refused even when a wildcard admits it.
 */
export function accepts(accept: string | undefined, mediaType: string): boolean {
  if (accept === undefined || !accept.trim()) return true;
  const wanted = mediaType.toLowerCase();
  const [wantedType] = wanted.split("/");
  let best: { specificity: number; q: number } | null = null;
  for (const entry of accept.split(",")) {
    const [range = "", ...params] = entry.split(";").map((p) => p.trim().toLowerCase());
    if (!range) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) q = Number(m[1]);
    }
    const specificity = range === wanted ? 3 : range === `${wantedType}/*` ? 2 : range === "*/*" ? 1 : 0;
    // The most specific matching range decides (RFC 9110: `text/html;q=0, */*` refuses html).
    if (specificity > 0 && (!best || specificity > best.specificity)) best = { specificity, q };
  }
  return best !== null && best.q > 0;
}

/**
 * Reads a manifest body, at most `limit` bytes. Over the limit (declared, or once more has
 * arrived): 413 at once, with `Connection: close`; the request stream is only paused
 * (destroying it would cut the connection before the 413 is sent). The server reads and
 * discards a bounded rest of the body before it closes the connection, so that a client
 * still writing it reads the 413 (server.ts, lingerBeforeClose).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (what: string) => {
    const e = new RegistryError(
      "SIZE_INVALID",
      `manifest is ${what}, over the limit of ${limit} bytes`,
      undefined,
      413,
    );
    e.headers = { Connection: "close" };
    return e;
  };
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) return Promise.reject(tooLarge(`${declared} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(`more than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onAborted = () => onError(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
