import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import { setupEcrApi } from "./api/ecr/index.js";
import { setupConsole } from "./api/console/index.js";
import { startConsoleBackground } from "./console/background.js";
import { setupEventsApi } from "./api/events/index.js";
import { setupInspector2Api } from "./api/inspector2/index.js";
import { VexReferrers } from "./findings/vex-referrers.js";
import { applyConfigExceptions } from "./findings/exceptions.js";
import { StoreInspector2Backend } from "./findings/inspector-backend.js";
import { InspectorReports } from "./findings/reports/service.js";
import { createAuth } from "./auth/index.js";
import { isLoopback, parseListen } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { ConfigError } from "./core/errors.js";
import type { Digest } from "./core/digest.js";
import type { Logger } from "./core/logger.js";
import { Metrics } from "./core/metrics.js";
import { startEventBus, type EventBusBackground } from "./events/background.js";
import { Singleton } from "./jobs/singleton.js";
import { JobWorker } from "./jobs/worker.js";
import { collectGarbage } from "./registry/gc.js";
import { RETENTION_CHECK_MS, runRetention } from "./findings/retention.js";
import { setupPolicy } from "./policy/setup.js";
import { ScanAttestor } from "./policy/signatures/attest.js";
import { createSignatureVerifier } from "./policy/signatures/index.js";
import { LifecycleService } from "./policy/lifecycle/service.js";
import { RegistryService } from "./registry/service.js";
import { warmUpRegistry } from "./registry/warmup.js";
import { StoreLayerCache } from "./scan/layer-cache.js";
import type { ScanMetrics } from "./scan/metrics.js";
import { RegistryScanService } from "./scan/service.js";
import { VulnDbSync } from "./scan/vulndb-distribution.js";
import { VulnDbProvider } from "./scan/vulndb-provider.js";
import { planDatabaseChange } from "./scan/vulndb-change.js";
import { runVulnDbUpdate } from "./scan/vulndb-update.js";
import { expireOutsideWindow } from "./scan/window.js";
import { VulnDbHealth } from "./scan/vulndb-health.js";
import { buildServer } from "./server.js";
import { RepositorySettingsService } from "./settings/service.js";
import { openScratchStores, openStores, type Stores } from "./storage/open.js";
import { dataPaths } from "./storage/paths.js";

export interface RunningServer {
  app: FastifyInstance;
  address: string;
  scan: RegistryScanService;
  close(): Promise<void>;
}

/** This process's name in leases and logs: unique across the cluster. */
export const NODE_ID = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
/** How often a background node checks whether the vulnerability database changed since the last re-match plan. */
const REMATCH_CHECK_MS = 30_000;
/**
 * How often a background node ends the suppression filters whose `drydock:expires-at` has
 * come: a filter stops suppressing within this long of its time. One indexed query.
 */
const FILTER_EXPIRY_CHECK_MS = 5_000;
/** Reports and SBOM exports one node writes at once (each streams; more would compete for I/O). */
const REPORT_CONCURRENCY = 2;
/** How often a background node moves the images outside the rescan window to SCAN_ELIGIBILITY_EXPIRED. */
const RESCAN_WINDOW_CHECK_MS = 3_600_000;

/**
 * Wiring: config → stores → services → HTTP server, plus the background work of the role.
 * `role` all (the embedded default) runs everything; `api` the registry and AWS APIs; `worker`
 * the scan workers and singletons, with only /healthz, /readyz and /metrics on its port.
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const { host, port } = parseListen(config.listen);
  const hasUsers = config.auth.users.length > 0;
  if (!hasUsers && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to listen on ${config.listen} without credentials: configure auth.users ` +
        `(see docs/configuration.md) or listen on a loopback address such as 127.0.0.1`,
    );
  }
  const cluster = config.storage.meta.url !== undefined;
  if (cluster && config.auth.tokenSecret === undefined)
    throw new ConfigError(
      "storage.meta.url is set (a cluster): set auth.tokenSecret, the same on every node, so that a bearer token issued by one node is accepted by all",
    );
  const role = config.role;
  const stores = await openStores(config, { schema: cluster ? "refuse" : "migrate" });
  const settings = new RepositorySettingsService(stores.meta);
  // Made here, not in buildServer, so that the services record into them (src/core/metrics.ts).
  const metrics = new Metrics({
    uploadSessions: () => stores.meta.registry.countUploads(),
    storageBytes: () => stores.blobs.totalBytes(),
    findings: () => stores.meta.findings.countsByStatusSeverity(),
    images: () => stores.meta.scans.countsByStatus(),
    vulndbBuiltAt: () => scan.vulndb.builtAt(),
    pendingDeliveries: () => stores.meta.deliveries.pending(),
    deadLetters: () => stores.meta.deliveries.countDeadLetters(),
  });
  const scan = createScanService(config, stores, settings, log, metrics);
  // Drydock's signed scan results (docs/signatures.md): queued by each completed scan in its
  // transaction, signed and pushed as referrers by the report worker.
  const attestor = config.signatures.attest.enabled
    ? new ScanAttestor(stores.meta, { privateKey: config.signatures.attest.privateKey! })
    : undefined;
  if (attestor) scan.service.onCompleted = (tx, e) => attestor.scanCompleted(tx, e);
  const auth = await createAuth(config, dataPaths(config.data).root);
  // Signature verification for the gates (docs/signatures.md); bad keys fail the start here.
  const signatures = createSignatureVerifier({
    meta: stores.meta,
    blobs: stores.blobs,
    config: config.signatures,
  });
  // Pull gates and the admission webhook (docs/policy.md).
  const policy = setupPolicy(config, {
    meta: stores.meta,
    blobs: stores.blobs,
    scanner: scan.service,
    auth: auth.authorizer,
    log,
    verifier: signatures,
    metrics,
  });
  const vulndbHealth = new VulnDbHealth(scan.vulndb.path, {
    updatesEnabled: role !== "api" && config.vulndb.updateIntervalHours > 0,
    dataDir: dataPaths(config.data).root,
  });
  const service = new RegistryService(
    stores.meta,
    stores.blobs,
    { ...config.registry, aws: { accountId: config.aws.accountId, region: config.aws.region } },
    [
      settings.registryHooks(),
      scan.service.registryHooks(),
      policy.hooks,
      // A pushed or deleted signature drops its subject's cached verdicts.
      signatures.hooks,
      // VEX referrers applied to their subject's findings in the push (src/findings/vex-referrers.ts).
      new VexReferrers(stores.blobs, {
        registry: { accountId: config.aws.accountId, region: config.aws.region },
        log,
      }).registryHooks(),
    ],
  );
  if (attestor) attestor.target = service;
  // ECR lifecycle policies: runs (scheduled below) and previews (jobs on the report worker).
  const lifecycle = new LifecycleService(stores.meta, settings, { registry: service, log });
  const ecrRoutes = setupEcrApi(config, {
    registry: service,
    settings,
    scan: scan.service,
    lifecycle,
    loginTokens: auth.loginTokens,
    log,
    // EventBridge (AWSEvents.*) on the same POST / as ECR (docs/events.md).
    extraServices: [setupEventsApi(config, { meta: stores.meta, log })],
  });
  // Findings reports and SBOM exports: jobs (the report worker below) writing through the blob
  // store, so that every node sees the same files (docs/inspector2-api.md).
  const reports = new InspectorReports(stores.meta, stores.blobs, {
    registry: { accountId: config.aws.accountId, region: config.aws.region },
    log,
  });
  const inspector2 = new StoreInspector2Backend(stores.meta, {
    registry: { accountId: config.aws.accountId, region: config.aws.region },
    reports,
    onQueued: () => scan.service.queue.wake(),
  });
  const inspector2Routes = setupInspector2Api(config, { backend: inspector2, log });
  // The web console under /console/ and its API under /api/console/ (docs/console.md).
  const consoleRoutes = await setupConsole(
    {
      config,
      log,
      meta: stores.meta,
      blobs: stores.blobs,
      registry: service,
      settings,
      scan: scan.service,
      inspector2,
      reports,
      now: Date.now,
      vulndb: scan.vulndb,
      vulndbHealth,
    },
    auth,
    dataPaths(config.data).root,
  );
  // The configuration's scoped exceptions, kept as the SUPPRESS filters `config/<name>`.
  await applyConfigExceptions(inspector2, config, log);
  const serveApi = role !== "worker";
  const { app } = buildServer({
    service,
    auth: auth.authorizer,
    log,
    maxManifestBytes: config.registry.maxManifestBytes,
    tls: config.tls,
    registryRoutes: serveApi,
    blobRedirect: config.storage.blobs.redirect,
    ready: () => readiness(stores),
    metrics,
    health: () => ({ vulndb: vulndbHealth.report() }),
    extraRoutes: serveApi
      ? (a) => {
          auth.routes?.(a);
          policy.routes(a);
          ecrRoutes(a);
          inspector2Routes(a);
          consoleRoutes(a);
        }
      : undefined,
  });
  if (!hasUsers && serveApi)
    log.warn(
      { listen: config.listen },
      "no credentials configured: the registry is open to anyone on loopback",
    );

  // Background work: scan workers and singletons on `all` and `worker` nodes.
  const background = role !== "api";
  const singletons: Singleton[] = [];
  if (background && config.gc.intervalMinutes > 0) {
    const gc = new Singleton(stores.meta, {
      name: "gc",
      holder: NODE_ID,
      intervalMs: config.gc.intervalMinutes * 60_000,
      run: () => collectGarbage(stores.meta, stores.blobs, gcOptions(config), log),
      log,
    });
    gc.start();
    singletons.push(gc);
  }
  // Closed findings past their retention, the finding history past findings.historyDays and
  // unused inventory segments are purged, and each day's counts snapshotted (findings/retention.ts);
  // once at start too, so that a node restarted more often than hourly still does it.
  if (background) {
    const retention = new Singleton(stores.meta, {
      name: "findings-retention",
      holder: NODE_ID,
      intervalMs: RETENTION_CHECK_MS,
      run: () => runRetention(stores.meta, config.findings, { log }),
      log,
    });
    retention.start();
    void retention.tick();
    singletons.push(retention);
  }
  // The console's dashboard rollups and scheduled reports (src/console, docs/console.md).
  if (background)
    singletons.push(
      ...startConsoleBackground({
        meta: stores.meta,
        blobs: stores.blobs,
        config,
        holder: NODE_ID,
        log,
        vulndb: scan.vulndb,
        vulndbHealth,
      }),
    );

  if (serveApi) {
    // Before listening, so that the first requests find the read path compiled (warmup.ts).
    const warmStart = performance.now();
    const warmFailed = await warmUpRegistry(config.registry.maxManifestBytes, openScratchStores);
    if (warmFailed) log.warn({ err: warmFailed }, "start-up warm-up failed (the server works, colder)");
    else log.debug({ ms: Math.round(performance.now() - warmStart) }, "start-up warm-up done");
  }

  // In a cluster, workers fetch the vulnerability database that `drydock db import|update`
  // published in the shared store (no shared file system needed).
  let vulndbSync: VulnDbSync | undefined;
  if (background && stores.shared) {
    vulndbSync = new VulnDbSync(stores.meta, stores.blobs, scan.vulndb.path, log);
    vulndbSync.start(config.vulndb.syncIntervalSeconds * 1000);
  }
  // Scheduled database updates, on one background node at a time; in a cluster it publishes
  // the new build, which the other workers fetch as above.
  const stopUpdate = new AbortController();
  if (background && config.vulndb.updateIntervalHours > 0) {
    const update = new Singleton(stores.meta, {
      name: "vulndb-update",
      holder: NODE_ID,
      intervalMs: config.vulndb.updateIntervalHours * 3_600_000,
      run: async () => {
        const r = await runVulnDbUpdate({
          target: scan.vulndb.path,
          mirror: config.vulndb.mirror,
          timeoutMs: config.vulndb.fetchTimeoutSeconds * 1000,
          cluster: stores.shared ? { meta: stores.meta, blobs: stores.blobs, sync: vulndbSync } : undefined,
          signal: stopUpdate.signal,
          log,
        });
        vulndbHealth.record(r);
        if (r.outcome === "failed") metrics.vulndbUpdateFailures.inc();
        if (r.outcome === "failed" && !existsSync(scan.vulndb.path)) log.error({}, vulndbHealth.advice());
        return r;
      },
      log,
    });
    update.start();
    singletons.push(update);
    // At start too when the database is missing (a new install scans pushed images without
    // another command) or older than the interval (a server stopped for a while catches up);
    // the lease keeps it to one run per interval across restarts and nodes.
    if (databaseDue(scan.vulndb.path, config.vulndb.updateIntervalHours * 3_600_000)) void update.tick();
  } else if (background && !existsSync(scan.vulndb.path)) log.info({}, vulndbHealth.advice());

  // A new database build re-matches the stored inventories it concerns (scan/vulndb-change.ts),
  // planned by one node at a time; a new build seen by this node plans at once.
  if (background) {
    const rematch = new Singleton(stores.meta, {
      name: "vulndb-rematch",
      holder: NODE_ID,
      intervalMs: REMATCH_CHECK_MS,
      run: () =>
        planDatabaseChange(stores.meta, {
          path: scan.vulndb.path,
          snapshotPath: `${scan.vulndb.path}.matched`,
          scanOnPush: (tx, id) => settings.scanOnPush(tx, id),
          chunkSize: config.scan.rematchChunkSize,
          log,
        }),
      log,
    });
    rematch.start();
    scan.vulndb.onChange = () => void rematch.tick().then(() => scan.service.queue.wake());
    singletons.push(rematch);
  }

  // Suppression filters tagged drydock:expires-at stop suppressing when their time comes.
  if (background) {
    const expiry = new Singleton(stores.meta, {
      name: "inspector2-filter-expiry",
      holder: NODE_ID,
      intervalMs: FILTER_EXPIRY_CHECK_MS,
      run: () => inspector2.expireFilters(),
      log,
    });
    expiry.start();
    singletons.push(expiry);
    // Images that left the rescan window stop being monitored (scan/window.ts); a change of
    // the window also runs it at once, as a job.
    const window = new Singleton(stores.meta, {
      name: "rescan-window",
      holder: NODE_ID,
      intervalMs: RESCAN_WINDOW_CHECK_MS,
      run: () =>
        expireOutsideWindow(stores.meta, {
          aws: { accountId: config.aws.accountId, region: config.aws.region },
          now: Date.now,
          log,
        }),
      log,
    });
    window.start();
    singletons.push(window);
    // Every repository's lifecycle policy, once per interval (docs/lifecycle.md).
    if (config.lifecycle.intervalHours > 0) {
      const lifecycleRun = new Singleton(stores.meta, {
        name: "lifecycle",
        holder: NODE_ID,
        intervalMs: config.lifecycle.intervalHours * 3_600_000,
        run: () => lifecycle.run(),
        log,
      });
      lifecycleRun.start();
      singletons.push(lifecycleRun);
    }
  }

  // Only the embedded server (one process on its SQLite file) may take back running jobs at
  // once; in a cluster another node may be running them, so their leases decide.
  if (background) await scan.service.start(!stores.shared);
  // After the scan service's start, which (embedded) re-queues every job a crash left running,
  // report jobs included.
  let reportWorker: JobWorker | undefined;
  // The event bus: deliveries to rule targets, scheduled rules, archive retention; its replay
  // jobs run on the report worker (src/events/background.ts).
  let eventBus: EventBusBackground | undefined;
  if (background) {
    eventBus = await startEventBus(stores.meta, {
      config,
      holder: NODE_ID,
      log,
      metrics,
      userAgent: "Drydock-Events/1",
      embedded: !stores.shared,
    });
    reportWorker = new JobWorker(
      stores.meta,
      {
        ...reports.jobHandlers(),
        ...eventBus.jobHandlers,
        ...lifecycle.jobHandlers(),
        ...(attestor?.jobHandlers() ?? {}),
      },
      {
        concurrency: REPORT_CONCURRENCY,
        maxAttempts: config.scan.maxAttempts,
        retryBaseMs: config.scan.retryBaseMs,
        leaseMs: config.scan.leaseSeconds * 1000,
        pollIntervalMs: config.scan.pollIntervalMs,
        log,
      },
    );
    reports.onQueued = () => reportWorker?.wake();
    lifecycle.onQueued = () => reportWorker?.wake();
    if (attestor) attestor.onQueued = () => reportWorker?.wake();
    await reportWorker.start(false);
  }
  const address = await app.listen({ host, port });
  log.info(
    {
      address,
      role,
      node: NODE_ID,
      meta: stores.meta.dialect,
      blobs: config.storage.blobs.url ?? dataPaths(config.data).root,
    },
    serveApi ? "drydock registry listening" : "drydock worker listening",
  );
  return {
    app,
    address,
    scan: scan.service,
    async close() {
      await app.close();
      stopUpdate.abort();
      for (const s of singletons) await s.stop();
      await vulndbSync?.stop();
      await reportWorker?.stop();
      await eventBus?.stop();
      await scan.service.stop();
      scan.vulndb.close();
      await stores.close();
    },
  };
}

/** Whether the database file is missing or was last written (built or confirmed current) longer than `intervalMs` ago. */
function databaseDue(path: string, intervalMs: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs >= intervalMs;
  } catch {
    return true;
  }
}

/** What /readyz checks: the database answers and the object store answers. */
async function readiness(stores: Stores): Promise<void> {
  await stores.meta.ping().catch((e: unknown) => {
    throw new Error(`metadata database unreachable: ${(e as Error).message}`);
  });
  await stores.blobs.stat(`sha256:${"0".repeat(64)}` as Digest).catch((e: unknown) => {
    throw new Error(`blob store unreachable: ${(e as Error).message}`);
  });
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
 * vulndb.path), switched without a restart when rebuilt; the layer-inventory cache and the
 * durable job queue in the metadata database (shared by every worker).
 */
export function createScanService(
  config: Config,
  stores: Pick<Stores, "meta" | "blobs">,
  settings: RepositorySettingsService,
  log?: Logger,
  /** The node's metrics: layers read or served by the cache, re-match jobs. */
  metrics?: ScanMetrics,
) {
  const vulndb = new VulnDbProvider(dataPaths(config.data, config.vulndb.path).vulndb, log);
  vulndb.watch();
  const service = new RegistryScanService(stores.meta, stores.blobs, vulndb, settings, {
    aws: { accountId: config.aws.accountId, region: config.aws.region },
    engine: {
      limits: {
        maxBytes: config.analysis.maxLayerBytes,
        maxEntries: config.analysis.maxLayerEntries,
        maxFileBytes: config.analysis.maxFileBytes,
        maxNestedArchiveBytes: config.analysis.maxNestedArchiveBytes,
      },
      cache: new StoreLayerCache(stores.meta),
      layerConcurrency: config.analysis.concurrency || undefined,
      onLayer: metrics && ((fromCache) => metrics.layer(fromCache)),
    },
    queue: {
      concurrency: config.scan.concurrency || availableParallelism(),
      maxAttempts: config.scan.maxAttempts,
      retryBaseMs: config.scan.retryBaseMs,
      leaseMs: config.scan.leaseSeconds * 1000,
      pollIntervalMs: config.scan.pollIntervalMs,
    },
    log,
    metrics,
  });
  return { service, vulndb };
}
