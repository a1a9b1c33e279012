import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { normalizeEcosystem, normalizePackage } from "./ecosystems.js";
import { mergeEnrichment, type EnrichmentPart } from "./enrichment.js";
import { mergeAdvisories } from "./merge.js";
import { SCHEMA_VERSION, VulnDbError, schemaVersionOf } from "./schema.js";
import type { Advisory, Affected, EcosystemKey, Enrichment, FeedProblem } from "./types.js";

/**
 * The read side of the vulnerability database, for matchers and `drydock db status`. Opened
 * read-only: a build replaces the file by rename, so an open VulnDb keeps reading the
 * database it opened until it is reopened.
 */

export interface FeedStatus {
  id: string;
  importer: string;
  name: string;
  fingerprint: string;
  importedAt: string;
  documents: number;
  records: number;
  skipped: number;
  problems: number;
  advisories: number;
  enrichments: number;
  url?: string;
  etag?: string;
  lastModified?: string;
}

export interface VulnDbStatus {
  path: string;
  schemaVersion: number;
  builtAt: string;
  /**
   * When the feeds were last confirmed current: the later of the last build and the last
   * `db update` that found nothing new. Staleness warnings go by this.
   */
  checkedAt: string;
  generator?: string;
  sizeBytes: number;
  /** Distinct (source, id). */
  advisories: number;
  /** Stored records (one advisory imported from two feeds is two records). */
  records: number;
  withdrawn: number;
  affectedRows: number;
  packageKeys: number;
  enrichedCves: number;
  problems: number;
  feeds: FeedStatus[];
}

/**
 * The lookup behind advisoriesFor: one range scan of the affected_key index, one rowid
 * fetch per row. Rows come in index order (an ORDER BY here cost a quarter of the lookup
 * time); grouping and newest-feed-first ordering happen in advisoriesFor.
 */
export const LOOKUP_SQL = `SELECT f.advisory AS r, a.source, a.id, a.feed, a.json AS base, f.json AS aff
  FROM affected f JOIN advisories a ON a.rowid = f.advisory
 WHERE f.ecosystem = ? AND f.package = ?`;

export interface LookupOptions {
  /** Also return withdrawn advisories (matchers never report them; explanations may show them). */
  includeWithdrawn?: boolean;
}

export class VulnDb {
  private readonly st;

  private constructor(
    readonly path: string,
    readonly db: Database.Database,
  ) {
    this.st = {
      forKey: db.prepare(LOOKUP_SQL),
      one: db.prepare(
        "SELECT rowid AS r, json FROM advisories WHERE source = ? AND id = ? ORDER BY feed DESC",
      ),
      affOf: db.prepare("SELECT json FROM affected WHERE advisory = ? ORDER BY rowid"),
      enr: db.prepare(
        "SELECT f.id AS feed, e.json FROM enrichment e JOIN feeds f ON f.seq = e.feed WHERE e.cve = ? ORDER BY e.rowid",
      ),
    };
  }

  /** Opens a database read-only; throws VulnDbError when it is missing or of another schema. */
  static open(path: string): VulnDb {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (e) {
      throw new VulnDbError(
        `no vulnerability database at ${path} (${(e as Error).message}): run \`drydock db import\` or \`drydock db update\``,
      );
    }
    try {
      const v = schemaVersionOf(db);
      if (v === undefined) throw new VulnDbError(`${path} is not a Drydock vulnerability database`);
      if (v !== SCHEMA_VERSION) {
        throw new VulnDbError(
          `${path} has schema version ${v}; this drydock reads ${SCHEMA_VERSION}: rebuild it`,
        );
      }
      return new VulnDb(path, db);
    } catch (e) {
      db.close();
      if (e instanceof VulnDbError) throw e;
      throw new VulnDbError(`${path} cannot be read as a vulnerability database: ${(e as Error).message}`);
    }
  }

  /**
   * The advisories affecting a package key, each with only its affected entries for that key.
   * Names are normalized as stored (PEP 503 for pypi, lowercase for nuget), so callers may pass
   * names as found in the image. One index range scan; withdrawn advisories are left out
   * unless asked for.
   */
  advisoriesFor(ecosystem: EcosystemKey, pkg: string, opts: LookupOptions = {}): Advisory[] {
    const eco = normalizeEcosystem(ecosystem);
    const rows = this.st.forKey.all(eco, normalizePackage(eco, pkg)) as {
      r: number;
      source: string;
      id: string;
      feed: number;
      base: string;
      aff: string;
    }[];
    // (source, id) → record rowid → that record's base and its entries for this key.
    const groups = new Map<string, Map<number, { feed: number; base: string; aff: string[] }>>();
    for (const row of rows) {
      const key = `${row.source}\0${row.id}`;
      let records = groups.get(key);
      if (!records) groups.set(key, (records = new Map()));
      let rec = records.get(row.r);
      if (!rec) records.set(row.r, (rec = { feed: row.feed, base: row.base, aff: [] }));
      rec.aff.push(row.aff);
    }
    const out: Advisory[] = [];
    for (const records of groups.values()) {
      // Newest feed first: it gives the descriptive fields (merge.ts).
      const merged = [...records.values()]
        .sort((x, y) => y.feed - x.feed)
        .map((rec) => ({
          ...(JSON.parse(rec.base) as Omit<Advisory, "affected">),
          affected: rec.aff.map((j) => JSON.parse(j) as Affected),
        }))
        .reduce((acc, next) => mergeAdvisories(acc, next));
      if (!merged.withdrawn || opts.includeWithdrawn) out.push(merged);
    }
    return out.sort((x, y) =>
      x.source < y.source ? -1 : x.source > y.source ? 1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0,
    );
  }

  /** One advisory with all its affected entries (records of several feeds merged). */
  advisory(source: string, id: string): Advisory | undefined {
    const records = (this.st.one.all(source, id) as { r: number; json: string }[]).map((row) => ({
      ...(JSON.parse(row.json) as Omit<Advisory, "affected">),
      affected: (this.st.affOf.all(row.r) as { json: string }[]).map((a) => JSON.parse(a.json) as Affected),
    }));
    return records.length ? records.reduce((acc, next) => mergeAdvisories(acc, next)) : undefined;
  }

  /**
   * CVSS, EPSS, KEV and SSVC facts by CVE id (ids that are not CVEs, or that no feed knows,
   * are absent from the map). See enrichment.ts for how feeds are combined.
   */
  enrichment(ids: readonly string[]): Map<string, Enrichment> {
    const out = new Map<string, Enrichment>();
    for (const raw of ids) {
      const cve = raw.trim().toUpperCase();
      if (out.has(cve)) continue;
      const rows = this.st.enr.all(cve) as { feed: string; json: string }[];
      if (!rows.length) continue;
      out.set(
        cve,
        mergeEnrichment(
          cve,
          rows.map((r) => ({ feed: r.feed, part: JSON.parse(r.json) as EnrichmentPart })),
        ),
      );
    }
    return out;
  }

  /**
   * When the database was built and last confirmed current (see VulnDbStatus.checkedAt),
   * without the counts of status(), which scan the whole database (~0.3 s on the pack): what
   * `drydock scan` needs for its age warning on every run.
   */
  freshness(): { builtAt: string; checkedAt: string } {
    const get = (key: string) =>
      (this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)
        ?.value ?? "";
    const builtAt = get("built_at");
    return { builtAt, checkedAt: [builtAt, get("checked_at")].sort().pop()! };
  }

  /** The feeds the database was built from: one small table, cheap enough for a health view. */
  feeds(): FeedStatus[] {
    return (
      this.db.prepare("SELECT * FROM feeds ORDER BY id").all() as Record<string, string | number | null>[]
    ).map((f): FeedStatus => ({
      id: String(f.id),
      importer: String(f.importer),
      name: String(f.name),
      fingerprint: String(f.fingerprint),
      importedAt: String(f.imported_at),
      documents: Number(f.documents),
      records: Number(f.records),
      skipped: Number(f.skipped),
      problems: Number(f.problems),
      advisories: Number(f.advisories),
      enrichments: Number(f.enrichments),
      ...(f.url ? { url: String(f.url) } : {}),
      ...(f.etag ? { etag: String(f.etag) } : {}),
      ...(f.last_modified ? { lastModified: String(f.last_modified) } : {}),
    }));
  }

  /**
   * Every advisory with this id, whatever importer produced it (the console's vulnerability
   * page): one probe of the (source, id) index per importer the feeds name.
   */
  advisoriesWithId(id: string): Advisory[] {
    const sources = [...new Set(this.feeds().map((f) => f.importer))].sort();
    return sources.flatMap((source) => {
      const a = this.advisory(source, id);
      return a ? [a] : [];
    });
  }

  status(): VulnDbStatus {
    const meta = new Map(
      (this.db.prepare("SELECT key, value FROM meta").all() as { key: string; value: string }[]).map((r) => [
        r.key,
        r.value,
      ]),
    );
    const count = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    const feeds = this.feeds();
    return {
      path: this.path,
      schemaVersion: Number(meta.get("schema_version")),
      builtAt: meta.get("built_at") ?? "",
      checkedAt: [meta.get("built_at") ?? "", meta.get("checked_at") ?? ""].sort().pop()!,
      generator: meta.get("generator"),
      sizeBytes: statSync(this.path).size,
      advisories: count("SELECT count(*) AS n FROM (SELECT DISTINCT source, id FROM advisories)"),
      records: count("SELECT count(*) AS n FROM advisories"),
      withdrawn: count(
        "SELECT count(*) AS n FROM (SELECT DISTINCT source, id FROM advisories WHERE withdrawn = 1)",
      ),
      affectedRows: count("SELECT count(*) AS n FROM affected"),
      packageKeys: count("SELECT count(*) AS n FROM (SELECT DISTINCT ecosystem, package FROM affected)"),
      enrichedCves: count("SELECT count(*) AS n FROM (SELECT DISTINCT cve FROM enrichment)"),
      problems: count("SELECT count(*) AS n FROM problems"),
      feeds,
    };
  }

  /** Problems recorded for a feed (or all feeds). */
  problems(feed?: string): FeedProblem[] {
    const sql = `SELECT f.id AS feed, p.document, p.reason FROM problems p JOIN feeds f ON f.seq = p.feed`;
    const rows = (
      feed
        ? this.db.prepare(`${sql} WHERE f.id = ? ORDER BY p.rowid`).all(feed)
        : this.db.prepare(`${sql} ORDER BY f.id, p.rowid`).all()
    ) as FeedProblem[];
    return rows;
  }

  close(): void {
    this.db.close();
  }
}
