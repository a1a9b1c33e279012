import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { RegistryError } from "./core/errors.js";
import type { Logger } from "./core/logger.js";
import { Metrics } from "./core/metrics.js";
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
}

/**
 * The HTTP server: /healthz, /metrics and the registry under /v2/. Request bodies are
 * never parsed by Fastify: blob routes stream `req.raw` straight to storage.
 */
export function buildServer(deps: ServerDeps): { app: FastifyInstance; metrics: Metrics } {
  const { service, log } = deps;
  const metrics = new Metrics({
    uploadSessions: () => service.meta.countUploads(),
    storageBytes: () => service.blobs.totalBytes(),
  });
  const app = createHttpServer(log);

  app.addHook("onResponse", async (req, reply) => {
    const route = (req as { routeKind?: string }).routeKind ?? (req.routeOptions.url || "other");
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500)
      log.warn({ method: req.method, url: req.url, status: reply.statusCode }, "request failed");
    else log.debug({ method: req.method, url: req.url, status: reply.statusCode }, "request");
  });

  app.get("/healthz", async (_req, reply) => {
    await service.meta.ping();
    return reply.send({ status: "ok" });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("Content-Type", metrics.registry.contentType);
    return reply.send(await metrics.registry.metrics());
  });

  registerRegistryRoutes(app, {
    service,
    auth: deps.auth,
    maxManifestBytes: deps.maxManifestBytes,
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
 */
export function createHttpServer(log: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: log.child({ component: "http" }) as FastifyBaseLogger,
    // Request logs are ours (buildServer's onResponse hook, at debug), without headers that may hold credentials.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Blob uploads are long-lived; a slow client must not be cut off by a fixed timeout.
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: true,
  });
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

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof RegistryError) {
      if (err.headers) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      reply.code(err.status).header("Content-Type", "application/json");
      if (err.status >= 400 && req.method !== "HEAD") return reply.send(err.toJSON());
      return reply.send();
    }
    const e = err as Error & { code?: string; statusCode?: number };
    if (e.code === "ERR_STREAM_PREMATURE_CLOSE" || e.code === "ECONNRESET" || e.message === "aborted") {
      // The client went away mid-body: nothing was stored; there is no one to answer.
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
