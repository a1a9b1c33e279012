import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import { normalizeEcosystem, normalizePackage } from "./ecosystems.js";
import { mergeAdvisories } from "./merge.js";
import { SCHEMA_SQL, SCHEMA_VERSION } from "./schema.js";
import type { Advisory, Affected, Enrichment, FeedProblem } from "./types.js";

/**
 * Writes feeds into a database file being built (never the one in service: see build.ts).
 * Owns the replace/merge rules described in schema.ts. Everything happens in one transaction
 * with the journal off: the file is private until it is renamed into place, so a crash just
 * leaves a file to delete.
 */

export interface FeedStats {
  documents: number;
  records: number;
  skipped: number;
  problems: number;
}

export interface FeedOrigin {
  url?: string;
  etag?: string;
  lastModified?: string;
}

interface FeedState extends FeedStats {
  seq: number;
  importer: string;
  name: string;
  hash: ReturnType<typeof createHash>;
  sources: Set<string>;
  origin: FeedOrigin;
  /** Affected entries (JSON) already stored per merged record: a merge appends, never rewrites. */
  merged: Map<number, Set<string>>;
}

/** A record that cannot be stored as given: reported as a problem of its document. */
export class RecordError extends Error {
  override readonly name = "RecordError";
}

const GENERATOR = "drydock 0.1.0";

function nonEmpty(v: unknown, what: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new RecordError(`${what} must be a non-empty string`);
  return v;
}

/** Validates an advisory from any importer and splits it into its stored parts. */
export function storedForm(a: Advisory): {
  base: string;
  affected: Affected[];
  affectedJson: string[];
  digest: string;
} {
  nonEmpty(a.id, "advisory id");
  nonEmpty(a.source, "advisory source");
  if (!Array.isArray(a.aliases)) throw new RecordError(`${a.id}: aliases must be an array`);
  if (!Array.isArray(a.affected)) throw new RecordError(`${a.id}: affected must be an array`);
  const affected = a.affected.map((e, i) => {
    const eco = normalizeEcosystem(nonEmpty(e?.ecosystem, `${a.id}: affected[${i}].ecosystem`));
    const pkg = normalizePackage(eco, nonEmpty(e.package, `${a.id}: affected[${i}].package`));
    if (!Array.isArray(e.ranges)) throw new RecordError(`${a.id}: affected[${i}].ranges must be an array`);
    return { ...e, ecosystem: eco, package: pkg };
  });
  const { affected: _drop, ...rest } = a;
  const base = JSON.stringify(rest);
  const affectedJson = affected.map((e) => JSON.stringify(e));
  const digest = createHash("sha1").update(base).update("\n").update(affectedJson.join("\n")).digest("hex");
  return { base, affected, affectedJson, digest };
}

export class DbWriter {
  readonly db: Database.Database;
  private readonly feeds = new Map<string, FeedState>();
  /** Whether rows of an existing database were deleted (then VACUUM is worth its time). */
  private deleted = false;
  private readonly st;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = OFF");
    this.db.pragma("synchronous = OFF");
    this.db.pragma("cache_size = -65536");
    this.db.exec(SCHEMA_SQL);
    const db = this.db;
    this.st = {
      getAdv: db.prepare("SELECT rowid, json FROM advisories WHERE feed = ? AND source = ? AND id = ?"),
      insAdv: db.prepare(
        "INSERT INTO advisories (source, id, feed, modified, withdrawn, digest, json) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      updAdv: db.prepare(
        "UPDATE advisories SET modified = ?, withdrawn = ?, digest = ?, json = ? WHERE rowid = ?",
      ),
      affOf: db.prepare("SELECT json FROM affected WHERE advisory = ? ORDER BY rowid"),
      delAffOf: db.prepare("DELETE FROM affected WHERE advisory = ?"),
      insAff: db.prepare("INSERT INTO affected (advisory, ecosystem, package, json) VALUES (?, ?, ?, ?)"),
      insEnr: db.prepare("INSERT INTO enrichment (cve, feed, json) VALUES (?, ?, ?)"),
      insProb: db.prepare("INSERT INTO problems (feed, document, reason) VALUES (?, ?, ?)"),
      feedSeq: db.prepare("SELECT seq FROM feeds WHERE id = ?"),
      insFeed: db.prepare(
        "INSERT INTO feeds (id, importer, name, fingerprint, imported_at) VALUES (?, ?, ?, '', '')",
      ),
      delFeedAff: db.prepare(
        "DELETE FROM affected WHERE advisory IN (SELECT rowid FROM advisories WHERE feed = ?)",
      ),
      delFeedAdv: db.prepare("DELETE FROM advisories WHERE feed = ?"),
      delFeedEnr: db.prepare("DELETE FROM enrichment WHERE feed = ?"),
      delFeedProb: db.prepare("DELETE FROM problems WHERE feed = ?"),
      delFeed: db.prepare("DELETE FROM feeds WHERE seq = ?"),
    };
    this.db.exec("BEGIN");
  }

  /** Feed ids already in the file (from the database this build started from). */
  existingFeeds(): {
    id: string;
    fingerprint: string;
    url: string | null;
    etag: string | null;
    last_modified: string | null;
  }[] {
    return this.db.prepare("SELECT id, fingerprint, url, etag, last_modified FROM feeds").all() as never;
  }

  /** Starts (once per build) the import of a feed: its previous rows go. */
  startFeed(id: string, importer: string, name: string, origin: FeedOrigin = {}): void {
    if (this.feeds.has(id)) return;
    this.dropFeed(id);
    // A source that earlier yielded nothing recognizable left an "unknown" feed; it is replaced too.
    if (importer !== "unknown") this.dropFeed(`unknown:${name}`);
    const seq = Number(this.st.insFeed.run(id, importer, name).lastInsertRowid);
    this.feeds.set(id, {
      seq,
      importer,
      name,
      hash: createHash("sha256"),
      sources: new Set(),
      origin,
      merged: new Map(),
      documents: 0,
      records: 0,
      skipped: 0,
      problems: 0,
    });
  }

  private dropFeed(id: string): void {
    const row = this.st.feedSeq.get(id) as { seq: number } | undefined;
    if (!row) return;
    this.st.delFeedAff.run(row.seq);
    this.st.delFeedAdv.run(row.seq);
    this.st.delFeedEnr.run(row.seq);
    this.st.delFeedProb.run(row.seq);
    this.st.delFeed.run(row.seq);
    this.deleted = true;
  }

  private state(feed: string): FeedState {
    const s = this.feeds.get(feed);
    if (!s) throw new Error(`feed ${feed} not started`);
    return s;
  }

  /** Records that a source file (by its sha256) contributed to the feed: part of its fingerprint. */
  noteSource(feed: string, sha256: string): void {
    const s = this.state(feed);
    if (s.sources.has(sha256)) return;
    s.sources.add(sha256);
    s.hash.update(sha256);
  }

  noteDocument(feed: string): void {
    this.state(feed).documents++;
  }

  noteSkipped(feed: string): void {
    this.state(feed).skipped++;
  }

  addAdvisory(feed: string, a: Advisory): void {
    const form = storedForm(a);
    const s = this.state(feed);
    const ex = this.st.getAdv.get(s.seq, a.source, a.id) as { rowid: number; json: string } | undefined;
    let rowid: number;
    if (!ex) {
      rowid = Number(
        this.st.insAdv.run(
          a.source,
          a.id,
          s.seq,
          a.modified ?? null,
          a.withdrawn ? 1 : 0,
          form.digest,
          form.base,
        ).lastInsertRowid,
      );
    } else {
      // Same feed, same id (this feed's old rows were deleted when it started): one advisory.
      // Only new affected entries are appended, so a CVE listed by 40 Alpine branch files costs
      // 40 appends, not 40 rewrites of a growing list; the digest is recomputed in finish().
      rowid = ex.rowid;
      let seen = s.merged.get(rowid);
      if (!seen) {
        seen = new Set((this.st.affOf.all(rowid) as { json: string }[]).map((r) => r.json));
        s.merged.set(rowid, seen);
      }
      const prev = JSON.parse(ex.json) as Advisory;
      const merged = mergeAdvisories({ ...prev, affected: [] }, { ...a, affected: [] });
      const { affected: _none, ...base } = merged;
      const baseJson = JSON.stringify(base);
      if (baseJson !== ex.json) {
        this.st.updAdv.run(merged.modified ?? null, merged.withdrawn ? 1 : 0, "", baseJson, rowid);
      }
      for (let i = 0; i < form.affected.length; i++) {
        const json = form.affectedJson[i]!;
        if (seen.has(json)) continue;
        seen.add(json);
        this.st.insAff.run(rowid, form.affected[i]!.ecosystem, form.affected[i]!.package, json);
      }
      s.records++;
      return;
    }
    for (let i = 0; i < form.affected.length; i++) {
      this.st.insAff.run(
        rowid,
        form.affected[i]!.ecosystem,
        form.affected[i]!.package,
        form.affectedJson[i]!,
      );
    }
    s.records++;
  }

  addEnrichment(feed: string, e: Enrichment): void {
    const cve = nonEmpty(e.cve, "enrichment cve").trim().toUpperCase();
    const { cve: _c, ...rest } = e;
    if (Object.keys(rest).length === 0) return;
    const s = this.state(feed);
    this.st.insEnr.run(cve, s.seq, JSON.stringify(rest));
    s.records++;
  }

  addProblem(feed: string, p: FeedProblem): void {
    const s = this.state(feed);
    this.st.insProb.run(s.seq, p.document, p.reason);
    s.problems++;
  }

  /** Stats of a feed started in this build. */
  stats(feed: string): FeedStats {
    const { documents, records, skipped, problems } = this.state(feed);
    return { documents, records, skipped, problems };
  }

  startedFeeds(): string[] {
    return [...this.feeds.keys()];
  }

  /** Writes feed rows, owned-row counts and meta, commits, and tidies the file. */
  finish(now = new Date()): void {
    // Digests of records merged in place, over the same text storedForm hashes.
    const digest = this.db.prepare("UPDATE advisories SET digest = ? WHERE rowid = ?");
    const baseOf = this.db.prepare("SELECT json FROM advisories WHERE rowid = ?");
    for (const s of this.feeds.values()) {
      for (const rowid of s.merged.keys()) {
        const base = (baseOf.get(rowid) as { json: string }).json;
        const aff = (this.st.affOf.all(rowid) as { json: string }[]).map((r) => r.json);
        digest.run(createHash("sha1").update(base).update("\n").update(aff.join("\n")).digest("hex"), rowid);
      }
      s.merged.clear();
    }
    const up = this.db.prepare(
      `UPDATE feeds SET fingerprint = ?, imported_at = ?, documents = ?, records = ?, skipped = ?, problems = ?,
              url = ?, etag = ?, last_modified = ?
        WHERE seq = ?`,
    );
    for (const s of this.feeds.values()) {
      // One source file: its own sha256 (what `sha256sum` prints); several: a hash of theirs.
      up.run(
        s.sources.size === 1 ? [...s.sources][0]! : s.hash.digest("hex"),
        now.toISOString(),
        s.documents,
        s.records,
        s.skipped,
        s.problems,
        s.origin.url ?? null,
        s.origin.etag ?? null,
        s.origin.lastModified ?? null,
        s.seq,
      );
    }
    this.db.exec(`
      UPDATE feeds SET
        advisories = (SELECT count(*) FROM advisories WHERE advisories.feed = feeds.seq),
        enrichments = (SELECT count(*) FROM enrichment WHERE enrichment.feed = feeds.seq)`);
    const meta = this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    meta.run("schema_version", String(SCHEMA_VERSION));
    meta.run("built_at", now.toISOString());
    meta.run("generator", GENERATOR);
    this.db.exec("COMMIT");
    this.db.exec("ANALYZE");
    if (this.deleted) this.db.exec("VACUUM");
  }

  /** Updates the conditional-request facts of a feed kept unchanged by `db update`. */
  touchFeed(id: string, origin: FeedOrigin): void {
    this.db
      .prepare("UPDATE feeds SET url = ?, etag = ?, last_modified = ? WHERE id = ?")
      .run(origin.url ?? null, origin.etag ?? null, origin.lastModified ?? null, id);
  }

  close(): void {
    if (this.db.inTransaction) this.db.exec("ROLLBACK");
    this.db.close();
  }
}
