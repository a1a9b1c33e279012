import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../core/errors.js";
import type { BlobStore } from "./blob/types.js";
import { dataPaths } from "./paths.js";
import type { MetaStore } from "./meta/store.js";

/**
 * The one place that chooses storage drivers from the configuration (used by `main.ts` and the
 * CLI commands, nothing else): SQLite and files in the data directory by default; PostgreSQL
 * when `storage.meta.url` is set; S3 when `storage.blobs.url` is set. Drivers beyond the default
 * are loaded only when configured, so the embedded default does not pay for them.
 */
export interface Stores {
  meta: MetaStore;
  blobs: BlobStore;
  /** Several processes may share these stores (PostgreSQL metadata). */
  shared: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  /**
   * What to do when the schema is older than the code: `migrate` (the embedded default), or
   * `refuse` (a cluster node: one `drydock migrate` upgrades the database for all nodes; an
   * empty database is migrated either way), or `refuse-quietly` (leave it: `drydock migrate`
   * itself, which then migrates and reports).
   */
  schema: "migrate" | "refuse" | "refuse-quietly";
}

export async function openStores(config: Config, o: OpenOptions = { schema: "migrate" }): Promise<Stores> {
  const paths = dataPaths(config.data, config.vulndb.path);
  await mkdir(paths.root, { recursive: true });
  const meta = await openMeta(config, paths.metaDb, o);
  let blobs: BlobStore;
  try {
    blobs = await openBlobs(config, paths.root);
  } catch (e) {
    await meta.close();
    throw e;
  }
  return { meta, blobs, shared: meta.dialect === "postgres", close: () => meta.close() };
}

/** The metadata store alone (commands that read the event log or the database). */
export async function openMetaStore(
  config: Config,
  o: OpenOptions = { schema: "migrate" },
): Promise<MetaStore> {
  const paths = dataPaths(config.data, config.vulndb.path);
  if (!config.storage.meta.url && !existsSync(paths.metaDb))
    throw new ConfigError(`no registry metadata at ${paths.metaDb}: is --data right?`);
  return openMeta(config, paths.metaDb, o);
}

async function openMeta(config: Config, sqliteFile: string, o: OpenOptions): Promise<MetaStore> {
  const url = config.storage.meta.url;
  if (!url) {
    const { openSqliteMetaStore } = await import("./meta/sqlite.js");
    return openSqliteMetaStore(sqliteFile, undefined, { checkpointer: true });
  }
  const { openPostgresMetaStore } = await import("./meta/postgres.js");
  const meta = openPostgresMetaStore(url, { maxConnections: config.storage.meta.maxConnections });
  try {
    try {
      await meta.ping();
    } catch (e) {
      throw new ConfigError(`PostgreSQL at ${redact(url)} is not reachable: ${(e as Error).message}`);
    }
    const status = await meta.schemaStatus();
    if (status.unknown.length)
      throw new ConfigError(
        `the database at ${redact(url)} has migrations this version does not know (${status.unknown.join(", ")}): a newer Drydock wrote it`,
      );
    if (status.pending.length && o.schema !== "refuse-quietly") {
      if (o.schema === "migrate" || status.applied.length === 0) await meta.migrate();
      else
        throw new ConfigError(
          `the database schema at ${redact(url)} is older than this version (pending: ${status.pending.join(", ")}): run \`drydock migrate\` first`,
        );
    }
    return meta;
  } catch (e) {
    await meta.close();
    throw e;
  }
}

async function openBlobs(config: Config, root: string): Promise<BlobStore> {
  const b = config.storage.blobs;
  if (!b.url) {
    const { FsBlobStore } = await import("./blob/fs.js");
    return FsBlobStore.open(root);
  }
  const u = new URL(b.url);
  if ((b.accessKeyId === undefined) !== (b.secretAccessKey === undefined))
    throw new ConfigError("storage.blobs: set both accessKeyId and secretAccessKey, or neither");
  const { S3BlobStore } = await import("./blob/s3.js");
  return S3BlobStore.open({
    bucket: u.hostname,
    prefix: u.pathname.replace(/^\/+/, ""),
    endpoint: b.endpoint,
    region: b.region,
    forcePathStyle: b.forcePathStyle,
    credentials:
      b.accessKeyId && b.secretAccessKey
        ? { accessKeyId: b.accessKeyId, secretAccessKey: b.secretAccessKey }
        : undefined,
  });
}

/**
 * Throwaway stores (in-memory SQLite, a temporary directory of files) for work that must not
 * touch the real ones: the start-up warm-up of the registry's request paths.
 */
export async function openScratchStores(): Promise<{
  meta: MetaStore;
  blobs: BlobStore;
  close(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "drydock-scratch-"));
  const { openSqliteMetaStore } = await import("./meta/sqlite.js");
  const { FsBlobStore } = await import("./blob/fs.js");
  const meta = await openSqliteMetaStore(":memory:");
  return {
    meta,
    blobs: await FsBlobStore.open(dir),
    close: async () => {
      await meta.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A database URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}
