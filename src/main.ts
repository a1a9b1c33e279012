import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { setupEcrApi } from "./api/ecr/index.js";
import { createAuth } from "./auth/index.js";
import { isLoopback, parseListen } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { ConfigError } from "./core/errors.js";
import type { Logger } from "./core/logger.js";
import { availableParallelism } from "node:os";
import { InventoryCache } from "./image/cache.js";
import { collectGarbage } from "./registry/gc.js";
import { RegistryScanService } from "./scan/service.js";
import { VulnDbProvider } from "./scan/vulndb-provider.js";
import { RegistryService } from "./registry/service.js";
import { warmUpRegistry } from "./registry/warmup.js";
import { buildServer } from "./server.js";
import { FsBlobStore } from "./storage/blob/fs.js";
import { openSqliteMetaStore } from "./storage/meta/sqlite.js";
import type { MetaStore } from "./storage/meta/store.js";

export interface Stores {
  meta: MetaStore;
  blobs: FsBlobStore;
}

/** Opens the embedded stores under the data directory (blobs on disk, SQLite metadata). */
export async function openStores(dataDir: string): Promise<Stores> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const blobs = await FsBlobStore.open(dir);
  const meta = await openSqliteMetaStore(join(dir, "meta.db"));
  return { meta, blobs };
}

export interface RunningServer {
  app: FastifyInstance;
  address: string;
  scan: RegistryScanService;
  close(): Promise<void>;
}

/** Wiring: config → stores → services → HTTP server, plus the GC schedule. */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const { host, port } = parseListen(config.listen);
  const hasUsers = config.auth.users.length > 0;
  if (!hasUsers && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to listen on ${config.listen} without credentials: configure auth.users ` +
        `(see docs/configuration.md) or listen on a loopback address such as 127.0.0.1`,
    );
  }
  const stores = await openStores(config.data);
  const scan = createScanService(config, stores, log);
  const service = new RegistryService(stores.meta, stores.blobs, config.registry, scan.service);
  const auth = await createAuth(config, resolve(config.data));
  const ecrRoutes = setupEcrApi(config, {
    registry: service,
    scan: scan.service,
    loginTokens: auth.loginTokens,
    log,
  });
  const { app } = buildServer({
    service,
    auth: auth.authorizer,
    log,
    maxManifestBytes: config.registry.maxManifestBytes,
    tls: config.tls,
    extraRoutes: (a) => {
      auth.routes?.(a);
      ecrRoutes(a);
    },
  });
  if (!hasUsers)
    log.warn(
      { listen: config.listen },
      "no credentials configured: the registry is open to anyone on loopback",
    );

  let gcTimer: NodeJS.Timeout | undefined;
  let gcRunning: Promise<unknown> | undefined;
  if (config.gc.intervalMinutes > 0) {
    gcTimer = setInterval(() => {
      if (gcRunning) return;
      gcRunning = collectGarbage(stores.meta, stores.blobs, gcOptions(config), log)
        .catch((err: unknown) => log.error({ err }, "garbage collection failed"))
        .finally(() => (gcRunning = undefined));
    }, config.gc.intervalMinutes * 60_000);
    gcTimer.unref();
  }

  // Before listening, so that the first requests find the read path compiled (warmup.ts).
  const warmStart = performance.now();
  const warmFailed = await warmUpRegistry(config.registry.maxManifestBytes);
  if (warmFailed) log.warn({ err: warmFailed }, "start-up warm-up failed (the server works, colder)");
  else log.debug({ ms: Math.round(performance.now() - warmStart) }, "start-up warm-up done");

  await scan.service.start();
  const address = await app.listen({ host, port });
  log.info({ address, data: resolve(config.data) }, "drydock registry listening");
  return {
    app,
    address,
    scan: scan.service,
    async close() {
      if (gcTimer) clearInterval(gcTimer);
      await app.close();
      await scan.service.stop();
      scan.vulndb.close();
      await gcRunning;
      await stores.meta.close();
    },
  };
}

export function gcOptions(config: Config, dryRun = false) {
  return {
    gracePeriodMs: config.gc.gracePeriodMinutes * 60_000,
    uploadExpiryMs: config.gc.uploadExpiryMinutes * 60_000,
    dryRun,
  };
}

/**
 * The scan engine of `drydock serve`: the vulnerability database of the data directory (or
 * vulndb.path), switched without a restart when rebuilt; the layer inventory cache shared with
 * the CLI; the durable queue in the metadata database.
 */
export function createScanService(config: Config, stores: Stores, log?: Logger) {
  const data = resolve(config.data);
  const vulndb = new VulnDbProvider(
    resolve(config.vulndb.path ?? join(data, "vulndb", "vulndb.sqlite")),
    log,
  );
  vulndb.watch();
  const service = new RegistryScanService(stores.meta, stores.blobs, vulndb, {
    aws: { accountId: config.aws.accountId, region: config.aws.region },
    engine: {
      limits: {
        maxBytes: config.analysis.maxLayerBytes,
        maxEntries: config.analysis.maxLayerEntries,
        maxFileBytes: config.analysis.maxFileBytes,
        maxNestedArchiveBytes: config.analysis.maxNestedArchiveBytes,
      },
      cache: new InventoryCache(join(data, "cache", "layers")),
      layerConcurrency: config.analysis.concurrency || undefined,
    },
    queue: {
      concurrency: config.scan.concurrency || availableParallelism(),
      maxAttempts: config.scan.maxAttempts,
      retryBaseMs: config.scan.retryBaseMs,
      leaseMs: config.scan.leaseSeconds * 1000,
      pollIntervalMs: config.scan.pollIntervalMs,
    },
    log,
  });
  return { service, vulndb };
}
