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
  await applyTotalDeltas(h, deltas);
}

/** The columns of image_finding_totals and repository_finding_totals a delta moves. */
interface Totals {
  n_all: number;
  n_critical: number;
  n_high: number;
  n_medium: number;
}

const totalsOf = (severity: string, n: number): Totals => ({
  n_all: n,
  n_critical: severity === "CRITICAL" ? n : 0,
  n_high: severity === "HIGH" ? n : 0,
  n_medium: severity === "MEDIUM" ? n : 0,
});

const addTotals = (a: Totals, b: Totals) => {
  a.n_all += b.n_all;
  a.n_critical += b.n_critical;
  a.n_high += b.n_high;
  a.n_medium += b.n_medium;
};

/**
 * The per-severity deltas (sorted by key) applied to the wide totals rows: each image's row
 * moves by the sum of its deltas, and the image's repository by the same plus the change of
 * its `n_images` (an image counts while its n_all is above 0, which the upsert's returned
 * total tells: before = after - delta). An image row that falls to 0 is deleted.
 */
async function applyTotalDeltas(
  h: Handle,
  deltas: readonly (CountedRow & { count: number })[],
): Promise<void> {
  type ImageTotals = Totals & { repository_id: number; digest: string; scan_type: string; status: string };
  const images = new Map<string, ImageTotals>();
  for (const d of deltas) {
    const k = JSON.stringify([d.repository_id, d.digest, d.scan_type, d.status]);
    let e = images.get(k);
    if (!e) {
      e = {
        repository_id: d.repository_id,
        digest: d.digest,
        scan_type: d.scan_type,
        status: d.status,
        ...totalsOf("", 0),
      };
      images.set(k, e);
    }
    addTotals(e, totalsOf(d.severity, d.count));
  }
  const moved = [...images.values()].filter(
    (e) => e.n_all !== 0 || e.n_critical !== 0 || e.n_high !== 0 || e.n_medium !== 0,
  );
  type RepositoryTotals = Totals & {
    repository_id: number;
    scan_type: string;
    status: string;
    n_images: number;
  };
  const repositories = new Map<string, RepositoryTotals>();
  const emptied: ImageTotals[] = [];
  for (let i = 0; i < moved.length; i += BATCH) {
    const part = moved.slice(i, i + BATCH);
    const after = await h.db
      .insertInto("image_finding_totals")
      .values(
        part.map((e) => ({
          ...e,
          repository_name: sql<string>`(select name from repositories where id = ${e.repository_id})`,
        })),
      )
      .onConflict((oc) =>
        oc.columns(["repository_id", "digest", "scan_type", "status"]).doUpdateSet({
          n_all: sql`image_finding_totals.n_all + excluded.n_all`,
          n_critical: sql`image_finding_totals.n_critical + excluded.n_critical`,
          n_high: sql`image_finding_totals.n_high + excluded.n_high`,
          n_medium: sql`image_finding_totals.n_medium + excluded.n_medium`,
        }),
      )
      .returning(["repository_id", "digest", "scan_type", "status", "n_all"])
      .execute();
    const total = new Map(
      after.map((r) => [
        JSON.stringify([Number(r.repository_id), r.digest, r.scan_type, r.status]),
        Number(r.n_all),
      ]),
    );
    for (const e of part) {
      const now = total.get(JSON.stringify([e.repository_id, e.digest, e.scan_type, e.status])) ?? 0;
      const was = now - e.n_all;
      if (now === 0) emptied.push(e);
      const k = JSON.stringify([e.repository_id, e.scan_type, e.status]);
      let r = repositories.get(k);
      if (!r) {
        r = {
          repository_id: e.repository_id,
          scan_type: e.scan_type,
          status: e.status,
          n_images: 0,
          ...totalsOf("", 0),
        };
        repositories.set(k, r);
      }
      addTotals(r, e);
      r.n_images += (now > 0 ? 1 : 0) - (was > 0 ? 1 : 0);
    }
  }
  // Any row at 0 is an image without open findings of its status: the IN lists may name a
  // superset of the emptied rows (the primary key's prefix finds them).
  for (let i = 0; i < emptied.length; i += BATCH) {
    const part = emptied.slice(i, i + BATCH);
    await h.db
      .deleteFrom("image_finding_totals")
      .where("repository_id", "in", [...new Set(part.map((e) => e.repository_id))])
      .where("digest", "in", [...new Set(part.map((e) => e.digest))])
      .where("n_all", "=", 0)
      .execute();
  }
  const repoRows = [...repositories.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, v]) => v);
  for (let i = 0; i < repoRows.length; i += BATCH)
    await h.db
      .insertInto("repository_finding_totals")
      .values(repoRows.slice(i, i + BATCH))
      .onConflict((oc) =>
        oc.columns(["repository_id", "scan_type", "status"]).doUpdateSet({
          n_all: sql`repository_finding_totals.n_all + excluded.n_all`,
          n_critical: sql`repository_finding_totals.n_critical + excluded.n_critical`,
          n_high: sql`repository_finding_totals.n_high + excluded.n_high`,
          n_medium: sql`repository_finding_totals.n_medium + excluded.n_medium`,
          n_images: sql`repository_finding_totals.n_images + excluded.n_images`,
        }),
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
  const totals = (table: string, key: string[], images: boolean) =>
    sql<Record<string, unknown>>`select ${sql.raw(key.join(", "))}, count(*) as n_all,
        sum(case when severity = 'CRITICAL' then 1 else 0 end) as n_critical,
        sum(case when severity = 'HIGH' then 1 else 0 end) as n_high,
        sum(case when severity = 'MEDIUM' then 1 else 0 end) as n_medium
        ${sql.raw(images ? ", count(distinct digest) as n_images" : "")}
      from findings where status in ('ACTIVE', 'SUPPRESSED') group by ${sql.raw(key.join(", "))}`;
  const wide = async (
    what: string,
    table: "image_finding_totals" | "repository_finding_totals",
    key: string[],
  ) => {
    const columns = [
      "n_all",
      "n_critical",
      "n_high",
      "n_medium",
      ...(table === "repository_finding_totals" ? ["n_images"] : []),
    ];
    const maintained = await h.db.selectFrom(table).selectAll().execute();
    const recounted = (await totals(table, key, table === "repository_finding_totals").execute(h.db)).rows;
    for (const c of columns)
      compare(
        `${what} ${c}`,
        maintained.map((r) => ({ ...r, count: (r as Record<string, unknown>)[c] })),
        recounted.map((r) => ({ ...r, count: r[c] })),
        key,
      );
    // A row at 0 is deleted (images) or holds zeros (repositories).
    if (table === "image_finding_totals")
      for (const r of maintained)
        if (Number(r.n_all) === 0)
          out.push(
            `${what} ${key.map((k) => String((r as Record<string, unknown>)[k])).join(" ")}: a row at 0`,
          );
  };
  await wide("image totals", "image_finding_totals", ["repository_id", "digest", "scan_type", "status"]);
  await wide("repository totals", "repository_finding_totals", ["repository_id", "scan_type", "status"]);
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
