import { loadConfig } from "../config/load.js";
import { createLogger } from "../core/logger.js";
import { gcOptions, openStores, startServer } from "../main.js";
import { collectGarbage } from "../registry/gc.js";

/** `drydock serve` and `drydock gc`: the registry on the embedded store (options: main.ts). */

export interface ServeOptions {
  config?: string;
  data?: string;
  listen?: string;
  logLevel?: string;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const config = loadConfig({
    file: opts.config,
    flags: { data: opts.data, listen: opts.listen, logLevel: opts.logLevel },
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
  const stores = await openStores(config.data);
  try {
    const report = await collectGarbage(stores.meta, stores.blobs, gcOptions(config, !!opts.dryRun));
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } finally {
    await stores.meta.close();
  }
}
