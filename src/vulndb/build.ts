import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { copyFile, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import type { FeedDocument, FeedImporter } from "./importers/types.js";
import { SCHEMA_VERSION, VulnDbError, schemaVersionOf } from "./schema.js";
import { documentsOf } from "./sources.js";
import type { FeedProblem } from "./types.js";
import { DbWriter, RecordError, type FeedOrigin, type FeedStats } from "./writer.js";

/**
 * Atomic database builds. A build writes `<db>.building-<pid>` next to the target (starting
 * from a copy of the target unless `fresh`), and only a build that ran to its end is renamed
 * over the target; any failure deletes the temporary file and leaves the database in service
 * untouched. Broken documents are not failures: they become problems of their feed (and fail
 * the build only with `strict`).
 */

export interface BuildSource {
  path: string;
  /** The feed name (sources.ts feedName) its documents belong to. */
  feedName: string;
  /** Only these importers may read it (`db update` downloads belong to one importer). */
  importers?: readonly FeedImporter[];
  /** Where it was fetched from, kept in the feed row for conditional requests. */
  origin?: FeedOrigin;
}

export interface BuildOptions {
  target: string;
  sources: readonly BuildSource[];
  importers: readonly FeedImporter[];
  /** Build from nothing instead of from a copy of the target. */
  fresh?: boolean;
  /** Fail (keeping the previous database) when any document had a problem. */
  strict?: boolean;
  /** Called for every problem as it is found (warnings on the terminal). */
  onProblem?: (p: FeedProblem) => void;
  /** Called after every document (progress display). */
  onDocument?: (feed: string, stats: FeedStats) => void;
  /** Stops the build between two documents, as a failure: the database is left as it was. */
  signal?: AbortSignal;
  now?: Date;
}

export interface BuildReport {
  target: string;
  /** Per feed: counts, and the time spent parsing and writing its documents. */
  feeds: ({ id: string; importer: string; name: string; durationMs: number } & FeedStats)[];
  /** Documents no importer recognized (README, LICENSE, JSON schemas). */
  ignored: number;
  problems: number;
  durationMs: number;
}

const HEAD_BYTES = 4096;

export function pickImporter(
  importers: readonly FeedImporter[],
  doc: FeedDocument,
): FeedImporter | undefined {
  const head = doc.content.subarray(0, HEAD_BYTES);
  for (const imp of importers) {
    try {
      if (imp.recognizes({ name: doc.name, head })) return imp;
    } catch {
      /* a recognizer that throws does not recognize */
    }
  }
  return undefined;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
  return h.digest("hex");
}

/** Throws unless `path` is a database this code can extend. */
function checkExisting(path: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const v = schemaVersionOf(db);
    if (v === undefined) throw new VulnDbError(`${path} is not a Drydock vulnerability database`);
    if (v !== SCHEMA_VERSION) {
      throw new VulnDbError(
        `${path} has schema version ${v}, this drydock writes ${SCHEMA_VERSION}: rebuild it with --fresh`,
      );
    }
  } catch (e) {
    if (e instanceof VulnDbError) throw e;
    throw new VulnDbError(`${path} cannot be read as a vulnerability database: ${(e as Error).message}`);
  } finally {
    db?.close();
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } catch {
    /* some filesystems refuse fsync on directories; the rename is still atomic */
  } finally {
    await fh.close();
  }
}

/** Work between two turns of the event loop, at most (save single long parses). */
const SLICE_MS = 20;

/**
 * An await that gives the event loop a turn once SLICE_MS of work has passed since the last:
 * documents and records arrive through promises that resolve at once, so a build would hold the
 * loop to its end, and a server updating its database (src/scan/vulndb-update.ts) would not
 * answer meanwhile.
 */
function slicer(): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    if (performance.now() - last < SLICE_MS) return undefined;
    return new Promise<void>((r) =>
      setImmediate(() => {
        last = performance.now();
        r();
      }),
    );
  };
}

async function importDocument(
  w: DbWriter,
  feed: string,
  imp: FeedImporter,
  doc: FeedDocument,
  problem: (feed: string, p: FeedProblem) => void,
  pause: () => Promise<void> | undefined,
): Promise<void> {
  try {
    for await (const item of imp.parse(doc)) {
      await pause();
      switch (item.kind) {
        case "advisory":
          try {
            w.addAdvisory(feed, item.advisory);
          } catch (e) {
            if (!(e instanceof RecordError)) throw e;
            problem(feed, {
              feed,
              document: `${doc.name} (${String(item.advisory?.id)})`,
              reason: e.message,
            });
          }
          break;
        case "enrichment":
          try {
            w.addEnrichment(feed, item.enrichment);
          } catch (e) {
            if (!(e instanceof RecordError)) throw e;
            problem(feed, { feed, document: doc.name, reason: e.message });
          }
          break;
        case "problem":
          problem(feed, { ...item.problem, feed });
          break;
        case "skipped":
          w.noteSkipped(feed);
          break;
      }
    }
  } catch (e) {
    problem(feed, { feed, document: doc.name, reason: `cannot parse: ${(e as Error).message}` });
  }
}

export async function buildDatabase(opts: BuildOptions): Promise<BuildReport> {
  const started = Date.now();
  const target = opts.target;
  const tmp = `${target}.building-${process.pid}`;
  await mkdir(dirname(target), { recursive: true });
  await rm(tmp, { force: true });
  if (!opts.fresh && existsSync(target)) {
    checkExisting(target);
    await copyFile(target, tmp);
  }
  let ignored = 0;
  let problems = 0;
  const spent = new Map<string, number>();
  const w = new DbWriter(tmp);
  const pause = slicer();
  try {
    const problem = (feed: string, p: FeedProblem) => {
      problems++;
      w.addProblem(feed, p);
      opts.onProblem?.(p);
    };
    for (const src of opts.sources) {
      const importers = src.importers ?? opts.importers;
      const sha = await sha256File(src.path);
      const feeds: string[] = [];
      const pending: FeedProblem[] = [];
      for await (const item of documentsOf(src.path, src.path)) {
        await pause();
        opts.signal?.throwIfAborted();
        if (item.kind === "problem") {
          const feed = feeds[feeds.length - 1];
          if (feed) problem(feed, { feed, document: item.document, reason: item.reason });
          else pending.push({ feed: "", document: item.document, reason: item.reason });
          continue;
        }
        const imp = pickImporter(importers, item.doc);
        if (!imp) {
          ignored++;
          continue;
        }
        const feed = `${imp.id}:${src.feedName}`;
        if (!feeds.includes(feed)) {
          w.startFeed(feed, imp.id, src.feedName, src.origin);
          w.noteSource(feed, sha);
          feeds.push(feed);
          for (const p of pending.splice(0)) problem(feed, { ...p, feed });
        }
        w.noteDocument(feed);
        const t0 = performance.now();
        await importDocument(w, feed, imp, item.doc, problem, pause);
        spent.set(feed, (spent.get(feed) ?? 0) + performance.now() - t0);
        opts.onDocument?.(feed, w.stats(feed));
      }
      if (pending.length) {
        // Nothing in the file could be read: its damage is still reported, under its name.
        const feed = `unknown:${src.feedName}`;
        w.startFeed(feed, "unknown", src.feedName, src.origin);
        w.noteSource(feed, sha);
        for (const p of pending) problem(feed, { ...p, feed });
      }
    }
    const feeds = w.startedFeeds();
    if (!feeds.some((f) => !f.startsWith("unknown:"))) {
      throw new VulnDbError(
        `no feed documents recognized in ${opts.sources.map((s) => s.path).join(", ") || "(no files)"}` +
          (problems ? ` (${problems} unreadable)` : ""),
      );
    }
    const report: BuildReport = {
      target,
      feeds: feeds.map((id) => {
        const i = id.indexOf(":");
        const durationMs = Math.round(spent.get(id) ?? 0);
        return { id, importer: id.slice(0, i), name: id.slice(i + 1), durationMs, ...w.stats(id) };
      }),
      ignored,
      problems,
      durationMs: 0,
    };
    if (opts.strict && problems) {
      throw new VulnDbError(`${problems} problems in the feed documents (--strict): database left unchanged`);
    }
    opts.signal?.throwIfAborted();
    w.finish(opts.now);
    w.close();
    await fsyncPath(tmp);
    await rename(tmp, target);
    await fsyncPath(dirname(target));
    report.durationMs = Date.now() - started;
    return report;
  } catch (e) {
    try {
      w.close();
    } catch {
      /* already closed */
    }
    await rm(tmp, { force: true });
    throw e;
  }
}
