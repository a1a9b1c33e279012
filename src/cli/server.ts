import { loadConfig } from "../config/load.js";
import { createLogger } from "../core/logger.js";
import { gcOptions, startServer } from "../main.js";
import { collectGarbage } from "../registry/gc.js";
import { openStores, redact } from "../storage/open.js";

/** `drydock serve`, `drydock migrate` and `drydock gc` (options: main.ts). */

export interface ServeOptions {
  config?: string;
  data?: string;
  listen?: string;
  logLevel?: string;
  role?: "all" | "api" | "worker";
}

export async function serve(opts: ServeOptions): Promise<void> {
  const config = loadConfig({
    file: opts.config,
    flags: { data: opts.data, listen: opts.listen, logLevel: opts.logLevel, role: opts.role },
  });
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log);
  const stop = async (signal: string) => {
    log.info({ signal }, "shutting down");
    await server.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

export interface MigrateOptions {
  config?: string;
  data?: string;
}

export async function migrate(opts: MigrateOptions): Promise<void> {
  const config = loadConfig({ file: opts.config, flags: { data: opts.data } });
  const stores = await openStores(config, { schema: "refuse-quietly" });
  try {
    const before = await stores.meta.schemaStatus();
    const applied = await stores.meta.migrate();
    const where = config.storage.meta.url ? redact(config.storage.meta.url) : "SQLite in the data directory";
    process.stdout.write(
      applied.length
        ? `migrated ${where}: ${applied.join(", ")}\n`
        : `${where} is up to date (${before.applied.at(-1) ?? "empty"})\n`,
    );
  } finally {
    await stores.close();
  }
}

export interface GcOptions {
  config?: string;
  data?: string;
  dryRun?: boolean;
  gracePeriod?: number;
}

export async function gc(opts: GcOptions): Promise<void> {
  const config = loadConfig({
    file: opts.config,
    flags: {
      data: opts.data,
      gc: opts.gracePeriod === undefined ? undefined : { gracePeriodMinutes: opts.gracePeriod },
    },
  });
  const stores = await openStores(config, { schema: config.storage.meta.url ? "refuse" : "migrate" });
  try {
    const report = await collectGarbage(stores.meta, stores.blobs, gcOptions(config, !!opts.dryRun));
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } finally {
    await stores.close();
  }
}
