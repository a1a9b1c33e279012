import { createWriteStream, existsSync, statSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { buildDatabase, sha256File, type BuildReport, type BuildSource } from "./build.js";
import { VulnDb } from "./db.js";
import type { FeedImporter } from "./importers/types.js";
import type { FeedProblem } from "./types.js";

/**
 * `drydock db update`: every importer's upstream files, fetched from their official URLs, from
 * a mirror base URL, or read from a mirror directory (offline), laid out by `mirrorPath`. Only
 * feeds whose bytes changed are re-imported, into a copy of the current database (build.ts:
 * atomic). Over HTTP the previous ETag / Last-Modified of each feed make the request
 * conditional, so an unchanged feed costs a 304; from a directory, the file's sha256 is
 * compared with the feed's fingerprint. A feed that cannot be fetched keeps its previous rows
 * and is reported.
 */

export type FeedFetchStatus = "unchanged" | "updated" | "missing" | "failed";

export interface FeedUpdate {
  id: string;
  location: string;
  status: FeedFetchStatus;
  reason?: string;
}

export interface UpdateOptions {
  target: string;
  importers: readonly FeedImporter[];
  /** Base URL (http, https) or directory holding `<mirrorPath>` files; default: upstream URLs. */
  mirror?: string;
  /** Only these importer ids. */
  only?: readonly string[];
  timeoutMs?: number;
  strict?: boolean;
  onFeed?: (u: FeedUpdate) => void;
  onProblem?: (p: FeedProblem) => void;
  /** Stops the update (downloads, then the build between two documents): the database stays as it was. */
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  now?: Date;
}

export interface UpdateReport {
  feeds: FeedUpdate[];
  /** The build, when something changed. */
  build?: BuildReport;
}

interface Previous {
  fingerprint: string;
  etag?: string;
  lastModified?: string;
}

function previousFeeds(target: string): Map<string, Previous> {
  const out = new Map<string, Previous>();
  if (!existsSync(target)) return out;
  const db = VulnDb.open(target);
  try {
    for (const f of db.status().feeds) {
      out.set(f.id, { fingerprint: f.fingerprint, etag: f.etag, lastModified: f.lastModified });
    }
  } finally {
    db.close();
  }
  return out;
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Where a mirror path is read from. */
function locate(mirror: string | undefined, url: string, mirrorPath: string): string {
  if (!mirror) return url;
  if (isUrl(mirror)) {
    const path = mirrorPath.split("/").map(encodeURIComponent).join("/");
    return `${mirror.replace(/\/+$/, "")}/${path}`;
  }
  const base = mirror.startsWith("file://") ? new URL(mirror).pathname : mirror;
  return join(isAbsolute(base) ? base : resolve(base), mirrorPath);
}

/** Downloads `url` to `dest` (conditionally); undefined on 304. */
async function download(
  url: string,
  dest: string,
  prev: Previous | undefined,
  fetchImpl: typeof fetch,
  timeoutMs: number,
  stop: AbortSignal | undefined,
): Promise<{ sha256: string; etag?: string; lastModified?: string } | undefined> {
  const headers: Record<string, string> = { "user-agent": "drydock-vulndb/0.1" };
  if (prev?.etag) headers["if-none-match"] = prev.etag;
  if (prev?.lastModified) headers["if-modified-since"] = prev.lastModified;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
  const res = await fetchImpl(url, { headers, signal, redirect: "follow" });
  if (res.status === 304) return undefined;
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  await mkdir(dirname(dest), { recursive: true });
  const hash = createHash("sha256");
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(
    Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
    tap,
    createWriteStream(dest),
  );
  return {
    sha256: hash.digest("hex"),
    etag: res.headers.get("etag") ?? undefined,
    lastModified: res.headers.get("last-modified") ?? undefined,
  };
}

/**
 * Records in the database in service when its feeds were last confirmed current: one small
 * SQLite transaction (readers see the old or the new value, nothing in between); the only write
 * to a database in service.
 */
function markChecked(target: string, now: Date): void {
  const db = new Database(target, { fileMustExist: true });
  try {
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('checked_at', ?)").run(now.toISOString());
  } finally {
    db.close();
  }
}

export async function updateDatabase(opts: UpdateOptions): Promise<UpdateReport> {
  const prev = previousFeeds(opts.target);
  const fetchImpl = opts.fetchImpl ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const downloads = `${opts.target}.download-${process.pid}`;
  const feeds: FeedUpdate[] = [];
  const sources: BuildSource[] = [];
  const report = (u: FeedUpdate) => {
    feeds.push(u);
    opts.onFeed?.(u);
  };
  try {
    for (const imp of opts.importers) {
      if (opts.only?.length && !opts.only.includes(imp.id)) continue;
      for (const up of imp.upstream ?? []) {
        opts.signal?.throwIfAborted();
        const id = `${imp.id}:${up.mirrorPath}`;
        const location = locate(opts.mirror, up.url, up.mirrorPath);
        const before = prev.get(id);
        try {
          if (!isUrl(location)) {
            if (!existsSync(location) || !statSync(location).isFile()) {
              report({ id, location, status: "missing", reason: "not in the mirror directory" });
              continue;
            }
            const sha = await sha256File(location);
            if (before && before.fingerprint === sha) {
              report({ id, location, status: "unchanged" });
              continue;
            }
            sources.push({
              path: location,
              feedName: up.mirrorPath,
              importers: [imp],
              origin: { url: location },
            });
            report({ id, location, status: "updated" });
            continue;
          }
          const dest = join(downloads, imp.id, up.mirrorPath);
          const got = await download(location, dest, before, fetchImpl, timeoutMs, opts.signal);
          if (!got || (before && before.fingerprint === got.sha256)) {
            report({ id, location, status: "unchanged" });
            continue;
          }
          sources.push({
            path: dest,
            feedName: up.mirrorPath,
            importers: [imp],
            origin: { url: location, etag: got.etag, lastModified: got.lastModified },
          });
          report({ id, location, status: "updated" });
        } catch (e) {
          const err = e as Error & { cause?: Error };
          const reason = err.cause?.message ? `${err.message}: ${err.cause.message}` : err.message;
          report({ id, location, status: "failed", reason });
        }
      }
    }
    if (!sources.length) {
      // Nothing changed upstream: the data is as current as a fresh build, so say when it was
      // last confirmed (db status and scans judge staleness by it). Only when every feed that
      // could be asked answered; a feed that failed leaves the database as old as it was.
      const asked = feeds.filter((f) => f.status !== "missing");
      if (asked.length && asked.every((f) => f.status === "unchanged") && existsSync(opts.target)) {
        markChecked(opts.target, opts.now ?? new Date());
      }
      return { feeds };
    }
    const build = await buildDatabase({
      target: opts.target,
      sources,
      importers: opts.importers,
      strict: opts.strict,
      onProblem: opts.onProblem,
      signal: opts.signal,
      now: opts.now,
    });
    // A file whose documents its importer did not recognize changed nothing: say so.
    const built = new Set(build.feeds.map((f) => f.id));
    for (const f of feeds) {
      if (f.status === "updated" && !built.has(f.id)) {
        f.status = "failed";
        f.reason = "no document in it was recognized; the previous data is kept";
      }
    }
    return { feeds, build };
  } finally {
    await rm(downloads, { recursive: true, force: true });
  }
}
