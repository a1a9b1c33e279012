import { sql } from "kysely";
import type { Handle } from "./handle.js";

/**
 * Maintained counts of open findings (tables image_finding_counts and
 * repository_finding_counts, migration 0015): how many ACTIVE and SUPPRESSED findings each image
 * and each repository has, by scan type and severity. The console sorts 100,000 repositories by
 * their critical findings and the aggregations count per image without a GROUP BY over a million
 * findings: both read these rows instead.
 *
 * Every change of a finding's status or severity (FindingStore.put, setStatus, forgetImage)
 * applies its delta here in the same transaction, from the finding rows as they were before
 * the change. On PostgreSQL those rows are read `for update`, and a finding new to the writer is
 * inserted with `on conflict do nothing` first (a concurrent writer that inserted it meanwhile is
 * then read and locked as an old row): two transactions never both count the same change. The
 * deltas are added (`count = count + delta`), which commutes. CLOSED findings are not counted,
 * so purging them changes nothing here.
 */

/** The columns of a finding that decide where it counts. */
export interface CountedRow {
  repository_id: number;
  digest: string;
  scan_type: string;
  status: string;
  severity: string;
}

const COUNTED = new Set(["ACTIVE", "SUPPRESSED"]);
const BATCH = 200;

/** The rows of these findings as they are now (locked until the transaction ends on PostgreSQL). */
export async function lockCountedRows(
  h: Handle,
  ids: readonly string[],
): Promise<(CountedRow & { id: string })[]> {
  const out: (CountedRow & { id: string })[] = [];
  for (let i = 0; i < ids.length; i += BATCH) {
    const rows = await h.db
      .selectFrom("findings")
      .select(["id", "repository_id", "digest", "scan_type", "status", "severity"])
      .where("id", "in", ids.slice(i, i + BATCH))
      .$if(h.dialect === "postgres", (q) => q.forUpdate())
      .execute();
    for (const r of rows) out.push({ ...r, repository_id: Number(r.repository_id) });
  }
  return out;
}

/** Adds `after - before` to the counts of the images and repositories concerned. */
export async function applyCountDeltas(
  h: Handle,
  before: readonly CountedRow[],
  after: readonly CountedRow[],
): Promise<void> {
  const image = new Map<
    string,
    {
      repository_id: number;
      digest: string;
      scan_type: string;
      status: string;
      severity: string;
      count: number;
    }
  >();
  const add = (r: CountedRow, d: number) => {
    if (!COUNTED.has(r.status)) return;
    const k = JSON.stringify([r.repository_id, r.digest, r.scan_type, r.status, r.severity]);
    const e = image.get(k);
    if (e) e.count += d;
    else
      image.set(k, {
        repository_id: Number(r.repository_id),
        digest: r.digest,
        scan_type: r.scan_type,
        status: r.status,
        severity: r.severity,
        count: d,
      });
  };
  for (const r of before) add(r, -1);
  for (const r of after) add(r, +1);
  // Sorted keys: two transactions touching the same count rows lock them in one order.
  const deltas = [...image.entries()]
    .filter(([, v]) => v.count !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, v]) => v);
  if (!deltas.length) return;
  const repo = new Map<
    string,
    { repository_id: number; scan_type: string; status: string; severity: string; count: number }
  >();
  for (const d of deltas) {
    const k = JSON.stringify([d.repository_id, d.scan_type, d.status, d.severity]);
    const e = repo.get(k);
    if (e) e.count += d.count;
    else
      repo.set(k, {
        repository_id: d.repository_id,
        scan_type: d.scan_type,
        status: d.status,
        severity: d.severity,
        count: d.count,
      });
  }
  for (let i = 0; i < deltas.length; i += BATCH)
    await h.db
      .insertInto("image_finding_counts")
      .values(deltas.slice(i, i + BATCH))
      .onConflict((oc) =>
        oc
          .columns(["repository_id", "digest", "scan_type", "status", "severity"])
          .doUpdateSet({ count: sql`image_finding_counts.count + excluded.count` }),
      )
      .execute();
  const repoDeltas = [...repo.entries()]
    .filter(([, v]) => v.count !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, v]) => v);
  for (let i = 0; i < repoDeltas.length; i += BATCH)
    await h.db
      .insertInto("repository_finding_counts")
      .values(repoDeltas.slice(i, i + BATCH))
      .onConflict((oc) =>
        oc
          .columns(["repository_id", "scan_type", "status", "severity"])
          .doUpdateSet({ count: sql`repository_finding_counts.count + excluded.count` }),
      )
      .execute();
}

/** The counts recomputed from the findings (migration 0015's backfill; tests compare with it). */
export const RECOUNT_IMAGES = sql`
  select repository_id, digest, scan_type, status, severity, count(*) as count
  from findings where status in ('ACTIVE', 'SUPPRESSED')
  group by repository_id, digest, scan_type, status, severity`;

/**
 * Where the maintained counts differ from a recount of the findings (empty: none), as
 * `image|repository key: maintained ≠ recounted` lines. Tests call it after every kind of
 * change; an operator could too.
 */
export async function countDrift(h: Handle): Promise<string[]> {
  const out: string[] = [];
  const compare = (
    what: string,
    maintained: Record<string, unknown>[],
    recounted: Record<string, unknown>[],
    keys: string[],
  ) => {
    const m = new Map<string, number>();
    const r = new Map<string, number>();
    const key = (row: Record<string, unknown>) => keys.map((k) => String(row[k])).join(" ");
    for (const row of maintained) if (Number(row.count) !== 0) m.set(key(row), Number(row.count));
    for (const row of recounted) r.set(key(row), Number(row.count));
    for (const k of new Set([...m.keys(), ...r.keys()]))
      if ((m.get(k) ?? 0) !== (r.get(k) ?? 0)) out.push(`${what} ${k}: ${m.get(k) ?? 0} ≠ ${r.get(k) ?? 0}`);
  };
  const imageKeys = ["repository_id", "digest", "scan_type", "status", "severity"];
  compare(
    "image",
    await h.db.selectFrom("image_finding_counts").selectAll().execute(),
    (await RECOUNT_IMAGES.execute(h.db)).rows as Record<string, unknown>[],
    imageKeys,
  );
  compare(
    "repository",
    await h.db.selectFrom("repository_finding_counts").selectAll().execute(),
    (
      await sql<Record<string, unknown>>`select repository_id, scan_type, status, severity, count(*) as count
        from findings where status in ('ACTIVE', 'SUPPRESSED')
        group by repository_id, scan_type, status, severity`.execute(h.db)
    ).rows,
    ["repository_id", "scan_type", "status", "severity"],
  );
  return out;
}
