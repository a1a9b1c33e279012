#!/usr/bin/env node
import { Command, Option } from "commander";
import { loadConfig } from "../config/load.js";
import { ConfigError } from "../core/errors.js";
import { createLogger } from "../core/logger.js";
import { collectGarbage } from "../registry/gc.js";
import { gcOptions, openStores, startServer } from "../main.js";
import { hashPassword } from "../auth/password.js";
import { registerSbom } from "./sbom.js";
import { registerDb } from "./db.js";
import { registerVersion } from "./version.js";
import { registerScan, ScanGateFailed } from "./scan.js";
import { registerEvents } from "./events.js";
import { VulnDbError } from "../vulndb/schema.js";
import { ImageFormatError } from "../image/resolve.js";

/** The `drydock` command. Each subcommand's options map onto the one config schema. */
export function buildCli(): Command {
  const program = new Command("drydock")
    .description("Drydock: an OCI container registry with built-in vulnerability scanning")
    .version("0.1.0")
    .showHelpAfterError();

  const configOpt = () =>
    new Option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG").env(
      "DRYDOCK_CONFIG",
    );
  const dataOpt = () =>
    new Option("-d, --data <dir>", "data directory for blobs and metadata (default ./data; DRYDOCK_DATA)");

  program
    .command("serve")
    .description("run the registry (OCI Distribution v1.1) on the embedded store")
    .addOption(configOpt())
    .addOption(dataOpt())
    .option("-l, --listen <host:port>", "address to listen on (default 127.0.0.1:5000; DRYDOCK_LISTEN)")
    .option(
      "--log-level <level>",
      "fatal|error|warn|info|debug|trace|silent (default info; DRYDOCK_LOG_LEVEL)",
    )
    .action(async (opts: { config?: string; data?: string; listen?: string; logLevel?: string }) => {
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
    });

  program
    .command("gc")
    .description("delete unreferenced blobs and expired uploads (safe while the server runs)")
    .addOption(configOpt())
    .addOption(dataOpt())
    .option("--dry-run", "report what would be deleted without deleting")
    .option("--grace-period <minutes>", "keep unreferenced blobs used within this many minutes", Number)
    .action(async (opts: { config?: string; data?: string; dryRun?: boolean; gracePeriod?: number }) => {
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
    });

  program
    .command("hash-password")
    .description("print a bcrypt hash for auth.users[].passwordHash (reads the password from stdin)")
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const password = Buffer.concat(chunks)
        .toString("utf8")
        .replace(/\r?\n$/, "");
      if (!password) throw new ConfigError("no password on stdin");
      process.stdout.write((await hashPassword(password)) + "\n");
    });

  registerSbom(program);
  registerDb(program);
  registerVersion(program);
  registerScan(program);
  registerEvents(program);
  return program;
}

async function run(): Promise<void> {
  try {
    await buildCli().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof ScanGateFailed) {
      process.exit(e.exitCode);
    }
    if (e instanceof ConfigError || e instanceof ImageFormatError || e instanceof VulnDbError) {
      process.stderr.write(`drydock: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`drydock: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  }
}

void run();
