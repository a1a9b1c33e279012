import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { IncomingMessage } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { Socket } from "node:net";
import { RegistryError } from "./core/errors.js";
import type { Logger } from "./core/logger.js";
import { Metrics } from "./core/metrics.js";
import { describeCertificate, loadTlsPair, tlsFiles, watchTlsPair, type TlsFiles } from "./core/tls.js";
import type { Authorizer } from "./auth/types.js";
import { registerRegistryRoutes } from "./registry/routes.js";
import type { RegistryService } from "./registry/service.js";

export interface ServerDeps {
  service: RegistryService;
  auth: Authorizer;
  log: Logger;
  maxManifestBytes: number;
  /** Extra routes (token endpoint, APIs) registered by the caller. */
  extraRoutes?: (app: FastifyInstance) => void;
  /** The configuration's `tls` section: HTTPS when both files are set (core/tls.ts). */
  tls?: { certFile?: string; keyFile?: string };
  /** Blob GETs answer 307 to the blob store's presigned URL (storage.blobs.redirect). */
  blobRedirect?: boolean;
  /** Serve the registry under /v2/ (false for a `worker` node: health and metrics only). */
  registryRoutes?: boolean;
  /** Extra members of the /healthz answer (what is degraded but does not stop the process: the vulnerability database). */
  health?: () => Record<string, unknown>;
  /** /readyz: rejects when a store this node needs is unreachable (the database, the object store). */
  ready?: () => Promise<void>;
  /** The node's metrics when the caller made them (main.ts: services record into them); else made here. */
  metrics?: Metrics;
}

/**
 * The HTTP server: /healthz (the process is alive), /readyz (its stores are reachable),
 * /metrics and the registry under /v2/. Request bodies are never parsed by Fastify: blob routes
 * stream `req.raw` straight to storage.
 */
export function buildServer(deps: ServerDeps): { app: FastifyInstance; metrics: Metrics } {
  const { service, log } = deps;
  const metrics =
    deps.metrics ??
    new Metrics({
      uploadSessions: () => service.meta.registry.countUploads(),
      storageBytes: () => service.blobs.totalBytes(),
    });
  const app = createHttpServer(log, tlsFiles(deps.tls) ?? undefined);

  app.addHook("onResponse", async (req, reply) => {
    const route = (req as { routeKind?: string }).routeKind ?? (req.routeOptions.url || "other");
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500)
      log.warn({ method: req.method, url: req.url, status: reply.statusCode }, "request failed");
    else log.debug({ method: req.method, url: req.url, status: reply.statusCode }, "request");
  });

  app.get("/healthz", async (_req, reply) => reply.send({ status: "ok", ...deps.health?.() }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await (deps.ready ?? (() => service.meta.ping()))();
    } catch (e) {
      return reply.code(503).send({ status: "unavailable", reason: (e as Error).message });
    }
    return reply.send({ status: "ok" });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("Content-Type", metrics.registry.contentType);
    return reply.send(await metrics.registry.metrics());
  });

  if (deps.registryRoutes !== false)
    registerRegistryRoutes(app, {
      service,
      auth: deps.auth,
      maxManifestBytes: deps.maxManifestBytes,
      blobRedirect: deps.blobRedirect,
      onBytes: (direction, route, bytes) =>
        (direction === "in" ? metrics.bytesIn : metrics.bytesOut).inc({ route }, bytes),
    });
  deps.extraRoutes?.(app);
  return { app, metrics };
}

/**
 * A Fastify instance set up as Drydock's HTTP server is (request bodies never parsed,
 * registry errors as the spec's JSON), without routes, metrics or request logs: buildServer
 * adds them; the start-up warm-up (registry/warmup.ts) registers the registry routes on one.
 *
 * With `tls`, it serves HTTPS with that certificate and key (read now: a ConfigError when they
 * cannot be used), and serves a new pair as soon as the files change (core/tls.ts).
 */
export function createHttpServer(log: Logger, tls?: TlsFiles): FastifyInstance {
  const pair = tls ? loadTlsPair(tls) : undefined;
  // Typed as the HTTP instance whatever the transport: routes and hooks are the same.
  const app = Fastify({
    ...(pair ? { https: { cert: pair.cert, key: pair.key } } : {}),
    loggerInstance: log.child({ component: "http" }) as FastifyBaseLogger,
    // Request logs are ours (buildServer's onResponse hook, at debug), without headers that may hold credentials.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Blob uploads are long-lived; a slow client must not be cut off by a fixed timeout.
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  if (tls && pair) {
    log.info({ ...tls, ...describeCertificate(pair.cert) }, "TLS on the listener");
    const server = app.server as unknown as HttpsServer;
    const watcher = watchTlsPair(tls, pair, (next) => server.setSecureContext(next), log);
    app.addHook("onClose", (_app, done) => {
      watcher.close();
      done();
    });
  }
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
  // Bodies are never parsed, so a missing or malformed Content-Type must not be refused
  // here (Fastify would answer 415 before the registry sees the request): drop it, and let
  // the manifest parser fall back to the manifest's own mediaType.
  app.addHook("onRequest", (req, _reply, done) => {
    const ct = req.headers["content-type"];
    if (ct !== undefined && !/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+/.test(ct.trim()))
      delete req.headers["content-type"];
    done();
  });

  // An answer sent before the request body was read (413 on an oversized manifest, 401
  // before an upload's bytes, 404 on a PUT to an unknown repository): the connection closes
  // after it, but only once the rest of the body is read and discarded (bounded), so that
  // the client, still writing, gets to read the answer (see lingerBeforeClose).
  app.addHook("onSend", (req, reply, payload, done) => {
    const raw = req.raw;
    // raw.socket is a net.Socket (or TLSSocket) except under inject(), which has no connection.
    if (
      !raw.complete &&
      hasBody(raw) &&
      raw.socket instanceof Socket &&
      !raw.socket.destroyed &&
      !reply.raw.headersSent
    ) {
      reply.header("Connection", "close");
      lingerBeforeClose(raw, raw.socket);
    }
    done(null, payload);
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof RegistryError) {
      if (err.headers) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      reply.code(err.status).header("Content-Type", "application/json");
      if (err.status >= 400 && req.method !== "HEAD") return reply.send(err.toJSON());
      return reply.send();
    }
    const e = err as Error & { code?: string; statusCode?: number };
    const clientGone = req.raw.destroyed || req.raw.readableAborted || req.raw.socket?.destroyed === true;
    if (
      clientGone &&
      (e.code === "ERR_STREAM_PREMATURE_CLOSE" || e.code === "ECONNRESET" || e.message === "aborted")
    ) {
      // The client went away mid-body: nothing was stored; there is no one to answer. (The
      // same codes from the object store's connection, the client still there, are a 5xx.)
      log.info({ method: req.method, url: req.url }, "client disconnected mid-request");
      return reply.code(400).send();
    }
    if (e.statusCode && e.statusCode < 500) {
      return reply.code(e.statusCode).send({ errors: [{ code: "UNSUPPORTED", message: e.message }] });
    }
    log.error({ err, method: req.method, url: req.url }, "internal error");
    return reply.code(500).send({ errors: [{ code: "UNKNOWN", message: "internal server error" }] });
  });
  return app;
}

/**
 * Whether a request declares a body. A GET without one is not `complete` until its (empty)
 * stream is read, which routes that never read it do not: such a request must keep its
 * connection alive, not linger and close.
 */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * Bounds of what is read and discarded of a request body after an early answer: at most
 * `maxBytes`, for at most `maxMs`, and the client may pause for at most `idleMs`. Beyond
 * that the connection is closed with the rest unread, which resets it.
 */
export const LINGER = { maxBytes: 16 * 1024 * 1024, idleMs: 2_000, maxMs: 30_000 } as const;

const lingering = new WeakSet<Socket>();

/**
 * Lingering close, as HTTP servers do it (Apache's lingering_close, nginx's lingering_time):
 * the early answer is written and the sending side shut down (FIN), then the rest of the
 * request body is read and discarded until the client has sent it all, goes quiet, or
 * LINGER runs out, and only then is the socket closed.
 *
 * Why: a TCP socket closed while received bytes are still unread answers with a reset
 * (RST) instead of a FIN, and so does the client's next segment. A client that is still
 * writing the body it was refused (undici, node:http, Go, skopeo: none reads the answer
 * before its body is written) then fails with EPIPE or ECONNRESET and never reads the
 * answer, which was already in its receive buffer.
 *
 * Node closes a `Connection: close` connection with socket.destroySoon() once the response
 * is written (end, then destroy on `finish`); the destroy is what must wait, so this
 * socket's destroySoon is replaced by one that ends at once and destroys once drained.
 */
function lingerBeforeClose(req: IncomingMessage, socket: Socket, limits: typeof LINGER = LINGER): void {
  if (lingering.has(socket)) return; // a second answer to the same request (an onSend that failed)
  lingering.add(socket);
  let received = 0;
  let drained = false; // the body is read to its end, or the limits ran out
  let closing = false; // the response is written and Node asked for the close
  const destroy = () => {
    if (socket.writableFinished) socket.destroy();
    else socket.once("finish", () => socket.destroy());
  };
  const stop = () => {
    if (drained) return;
    drained = true;
    clearTimeout(idle);
    clearTimeout(total);
    req.off("data", onData);
    req.off("end", stop);
    if (!req.readableEnded) req.pause();
    if (closing) destroy();
  };
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limits.maxBytes) stop();
    else idle.refresh();
  };
  const idle = setTimeout(stop, limits.idleMs).unref();
  const total = setTimeout(stop, limits.maxMs).unref();
  socket.once("close", stop);

  // Discard whatever the route left: its own listeners are gone or done with the body.
  req.unpipe();
  req.removeAllListeners("data");
  req.on("data", onData);
  req.once("end", stop);
  req.resume();

  socket.destroySoon = function destroySoon(this: Socket) {
    closing = true;
    if (this.writable) this.end();
    if (drained) destroy();
  };
}
