import Database from "better-sqlite3";
import { VulnDb } from "./db.js";
import { mergeEnrichment, type EnrichmentPart } from "./enrichment.js";
import type { EcosystemKey, Enrichment } from "./types.js";

/**
 * What changed between two databases, for continuous re-scanning: advisories added, removed
 * and changed (by the digest of their whole normalized form), the package keys those touch in
 * either database (the inventories to re-match), and the CVEs whose enrichment changed (the
 * findings to re-score). Both files are only read.
 */

export interface AdvisoryRef {
  source: string;
  id: string;
}

export interface PackageKey {
  ecosystem: EcosystemKey;
  package: string;
}

export interface VulnDbDiff {
  old: { path: string; builtAt: string };
  new: { path: string; builtAt: string };
  advisories: { added: AdvisoryRef[]; removed: AdvisoryRef[]; changed: AdvisoryRef[] };
  /** Every (ecosystem, package) an added, removed or changed advisory affects, old or new. */
  keys: PackageKey[];
  enrichment: {
    /** CVEs with any enrichment difference. */
    changed: number;
    kevAdded: string[];
    kevRemoved: string[];
    /** CVEs whose CVSS list (vectors, scores or sources) differs. */
    cvssChanged: string[];
    /** EPSS moves daily for nearly every CVE: a count only. */
    epssChanged: number;
  };
}

function refs(db: Database.Database, sql: string): AdvisoryRef[] {
  return db.prepare(sql).all() as AdvisoryRef[];
}

/** Reads one CVE's merged enrichment from the `main` (new) or `o` (old) database. */
function enrichmentReader(db: Database.Database, schema: "main" | "o"): (cve: string) => Enrichment {
  const st = db.prepare(
    `SELECT f.id AS feed, e.json FROM ${schema}.enrichment e JOIN ${schema}.feeds f ON f.seq = e.feed
      WHERE e.cve = ? ORDER BY e.rowid`,
  );
  return (cve) =>
    mergeEnrichment(
      cve,
      (st.all(cve) as { feed: string; json: string }[]).map((r) => ({
        feed: r.feed,
        part: JSON.parse(r.json) as EnrichmentPart,
      })),
    );
}

export function diffVulnDbs(oldPath: string, newPath: string): VulnDbDiff {
  // Opening through VulnDb checks both are databases of this schema.
  const oldStatus = VulnDb.open(oldPath);
  const newStatus = VulnDb.open(newPath);
  // freshness(), not status(): status() counts every table (a third of a second on the pack).
  const oldBuilt = oldStatus.freshness().builtAt;
  const newBuilt = newStatus.freshness().builtAt;
  oldStatus.close();
  newStatus.close();

  const db = new Database(newPath, { readonly: true, fileMustExist: true });
  try {
    db.prepare("ATTACH DATABASE ? AS o").run(oldPath);
    // Feeds with the same id, fingerprint and import time in both files hold the same rows: a
    // build starts from a copy of the database and rewrites only the feeds it imports
    // (writer.ts), and `db update` imports only the feeds that changed. Only the records and
    // enrichment of the other feeds are compared, so a daily update's diff reads what it
    // changed, not the whole database (a full rebuild changes every feed: everything is read).
    db.exec(`CREATE TEMP TABLE same AS
      SELECT n.seq AS nseq, p.seq AS oseq FROM main.feeds n
        JOIN o.feeds p ON p.id = n.id AND p.fingerprint = n.fingerprint AND p.imported_at = n.imported_at;
      CREATE TEMP TABLE chn AS SELECT seq FROM main.feeds WHERE seq NOT IN (SELECT nseq FROM same);
      CREATE TEMP TABLE cho AS SELECT seq FROM o.feeds WHERE seq NOT IN (SELECT oseq FROM same);
      CREATE TEMP TABLE cand AS
        SELECT source, id FROM main.advisories WHERE feed IN (SELECT seq FROM chn)
        UNION SELECT source, id FROM o.advisories WHERE feed IN (SELECT seq FROM cho);
      CREATE UNIQUE INDEX temp.cand_key ON cand (source, id);`);
    // One (source, id) may be held by several feeds: compare the set of their record digests.
    for (const [t, schema] of [
      ["dn", "main"],
      ["do_", "o"],
    ] as const) {
      db.exec(`CREATE TEMP TABLE ${t} AS
        SELECT source, id, group_concat(digest, ',') AS d
          FROM (SELECT DISTINCT a.source, a.id, a.digest FROM ${schema}.advisories a
                  JOIN cand c ON c.source = a.source AND c.id = a.id
                 ORDER BY a.source, a.id, a.digest)
         GROUP BY source, id;
        CREATE UNIQUE INDEX temp.${t}_key ON ${t} (source, id);`);
    }
    const added = refs(
      db,
      `SELECT n.source, n.id FROM dn n LEFT JOIN do_ p ON p.source = n.source AND p.id = n.id
        WHERE p.id IS NULL ORDER BY n.source, n.id`,
    );
    const removed = refs(
      db,
      `SELECT p.source, p.id FROM do_ p LEFT JOIN dn n ON n.source = p.source AND n.id = p.id
        WHERE n.id IS NULL ORDER BY p.source, p.id`,
    );
    const changed = refs(
      db,
      `SELECT n.source, n.id FROM dn n JOIN do_ p ON p.source = n.source AND p.id = n.id
        WHERE p.d <> n.d ORDER BY n.source, n.id`,
    );
    db.exec("CREATE TEMP TABLE dk (source TEXT, id TEXT, PRIMARY KEY (source, id))");
    const ins = db.prepare("INSERT OR IGNORE INTO dk VALUES (?, ?)");
    db.transaction(() => {
      for (const a of [...added, ...removed, ...changed]) ins.run(a.source, a.id);
    })();
    const keys = db
      .prepare(
        `SELECT ecosystem, package FROM main.affected WHERE advisory IN
           (SELECT a.rowid FROM main.advisories a JOIN dk ON dk.source = a.source AND dk.id = a.id)
         UNION
         SELECT ecosystem, package FROM o.affected WHERE advisory IN
           (SELECT a.rowid FROM o.advisories a JOIN dk ON dk.source = a.source AND dk.id = a.id)
         ORDER BY 1, 2`,
      )
      .all() as PackageKey[];

    // Enrichment: CVEs with a row of a feed that changed on one side that the other side's
    // changed feeds lack (JSON compared as stored): a superset of the CVEs whose enrichment
    // changed, each then compared as read (merged over every feed) below.
    const changedCves = (
      db
        .prepare(
          `SELECT cve FROM (
             SELECT cve FROM (
               SELECT cve, json FROM main.enrichment WHERE feed IN (SELECT seq FROM chn)
               EXCEPT SELECT cve, json FROM o.enrichment WHERE feed IN (SELECT seq FROM cho))
             UNION ALL
             SELECT cve FROM (
               SELECT cve, json FROM o.enrichment WHERE feed IN (SELECT seq FROM cho)
               EXCEPT SELECT cve, json FROM main.enrichment WHERE feed IN (SELECT seq FROM chn)))
           GROUP BY cve ORDER BY cve`,
        )
        .all() as { cve: string }[]
    ).map((r) => r.cve);
    const enrichment: VulnDbDiff["enrichment"] = {
      changed: 0,
      kevAdded: [],
      kevRemoved: [],
      cvssChanged: [],
      epssChanged: 0,
    };
    const readOld = enrichmentReader(db, "o");
    const readNew = enrichmentReader(db, "main");
    for (const cve of changedCves) {
      const before = readOld(cve);
      const after = readNew(cve);
      let any = false;
      if (!!before.kev !== !!after.kev) {
        (after.kev ? enrichment.kevAdded : enrichment.kevRemoved).push(cve);
        any = true;
      } else if (JSON.stringify(before.kev) !== JSON.stringify(after.kev)) any = true;
      if (JSON.stringify(before.cvss ?? []) !== JSON.stringify(after.cvss ?? [])) {
        enrichment.cvssChanged.push(cve);
        any = true;
      }
      if (JSON.stringify(before.epss) !== JSON.stringify(after.epss)) {
        enrichment.epssChanged++;
        any = true;
      }
      if (JSON.stringify(before.ssvc) !== JSON.stringify(after.ssvc)) any = true;
      if (any) enrichment.changed++;
    }

    return {
      old: { path: oldPath, builtAt: oldBuilt },
      new: { path: newPath, builtAt: newBuilt },
      advisories: { added, removed, changed },
      keys,
      enrichment,
    };
  } finally {
    db.close();
  }
}
