import type Database from "better-sqlite3";

/**
 * The vulnerability database: ONE SQLite file, built by `drydock db import|update` and read
 * (read-only) by the matchers. This comment is the schema's one description; docs/vulndb.md
 * repeats it for users.
 *
 *   meta        key TEXT PK, value TEXT
 *               schema_version (SCHEMA_VERSION below), built_at (ISO time of the last build),
 *               checked_at (last `db update` that found every feed unchanged; the one write
 *               to a database in service), generator ("drydock <version>").
 *   feeds       seq INTEGER PK             the key other tables use (saves repeating the id)
 *               id TEXT UNIQUE             "<importer>:<feed name>", e.g. "osv:osv/Go/all.zip"
 *               importer, name TEXT        the FeedImporter id and the feed name (sources.ts)
 *               fingerprint TEXT           sha256 of the source bytes the feed was built from
 *               imported_at TEXT           ISO time of the import that produced the rows
 *               documents, records, skipped, problems INTEGER   counted during that import
 *               advisories, enrichments INTEGER                 rows owned now (after later
 *                                          imports took over records with the same id)
 *               url, etag, last_modified TEXT   where `db update` fetched it, for conditional
 *                                          requests (If-None-Match / If-Modified-Since)
 *   advisories  rowid INTEGER PK, source TEXT, id TEXT
 *               feed INTEGER → feeds.seq   the feed the record came from; UNIQUE(feed, source, id)
 *               modified TEXT, withdrawn INTEGER (0/1)
 *               digest TEXT                sha1 of the whole normalized record, for `db diff`
 *               json TEXT                  the Advisory (types.ts) WITHOUT `affected`
 *               INDEX (source, id)
 *   affected    advisory INTEGER → advisories.rowid (index)
 *               ecosystem TEXT, package TEXT   the lookup key, normalized (ecosystems.ts)
 *               json TEXT                  one Affected entry
 *               INDEX (ecosystem, package, advisory): `advisoriesFor` is one index range scan
 *   enrichment  cve TEXT (index), feed INTEGER → feeds.seq (index)
 *               json TEXT                  the part of an Enrichment one feed knows (CVSS list,
 *                                          EPSS, KEV, SSVC); rows of several feeds are merged
 *                                          when read (db.ts), later rowids are newer imports
 *   problems    feed INTEGER → feeds.seq (index), document TEXT, reason TEXT
 *               documents a feed import could not read (kept until that feed is re-imported)
 *
 * Importing a feed first deletes that feed's rows, so re-importing a feed replaces exactly
 * what it brought before and nothing else. Records with the same (source, id) in one feed are
 * merged into one row (AlmaLinux publishes one ALSA id per major release; Alpine one CVE per
 * branch file). Records with the same (source, id) from different feeds (per-branch Alpine
 * files fetched by `db update`, PyPA's YAML and osv.dev's PyPI zip) are kept side by side
 * and merged when read (db.ts): the newest import gives the descriptive fields, aliases are
 * united, identical affected entries appear once.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  importer TEXT NOT NULL,
  name TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  documents INTEGER NOT NULL DEFAULT 0,
  records INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  problems INTEGER NOT NULL DEFAULT 0,
  advisories INTEGER NOT NULL DEFAULT 0,
  enrichments INTEGER NOT NULL DEFAULT 0,
  url TEXT,
  etag TEXT,
  last_modified TEXT
);
CREATE TABLE IF NOT EXISTS advisories (
  rowid INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  feed INTEGER NOT NULL,
  modified TEXT,
  withdrawn INTEGER NOT NULL DEFAULT 0,
  digest TEXT NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (feed, source, id)
);
CREATE INDEX IF NOT EXISTS advisories_id ON advisories (source, id);
CREATE TABLE IF NOT EXISTS affected (
  advisory INTEGER NOT NULL,
  ecosystem TEXT NOT NULL,
  package TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS affected_key ON affected (ecosystem, package, advisory);
CREATE INDEX IF NOT EXISTS affected_advisory ON affected (advisory);
CREATE TABLE IF NOT EXISTS enrichment (
  cve TEXT NOT NULL,
  feed INTEGER NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS enrichment_cve ON enrichment (cve);
CREATE INDEX IF NOT EXISTS enrichment_feed ON enrichment (feed);
CREATE TABLE IF NOT EXISTS problems (
  feed INTEGER NOT NULL,
  document TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS problems_feed ON problems (feed);
`;

export class VulnDbError extends Error {
  override readonly name = "VulnDbError";
}

/** The schema version a database file declares, or undefined when it is not a vulndb. */
export function schemaVersionOf(db: Database.Database): number | undefined {
  const t = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!t) return undefined;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
    { value: string } | undefined;
  return row ? Number(row.value) : undefined;
}
