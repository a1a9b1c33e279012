import { sql, type Expression, type RawBuilder, type SqlBool } from "kysely";
import { toStoredFinding, type FindingRowAsRead } from "./finding-rows.js";
import type { StoredFindingRow } from "./finding-store.js";
import type { Handle } from "./handle.js";

/**
 * The findings queries of the Inspector2 API (ListFindings, aggregations, suppression): a
 * narrowing in SQL by the indexed columns, a keyset order over one sort expression then the
 * finding id, and GROUP BY counts. The narrowing is a superset of what the caller wants: the
 * caller checks each candidate exactly (src/findings evaluates the filter criteria); the order
 * is exactly the wire layer's (criteria.ts compareFindings), absent values last in both
 * directions, strings by code point (PostgreSQL: COLLATE "C").
 */

/** A string column narrowed by filters: some positive holds (when any), and every NOT_EQUALS. */
export interface StringNarrowing {
  column: "vulnerability_id" | "package_name" | "repository_name" | "digest";
  equals: string[];
  prefixes: string[];
  notEquals: string[];
}

export type RangeColumn =
  "first_observed_at" | "last_observed_at" | "updated_at" | "pushed_at" | "epss_score" | "inspector_score";

/** Inclusive ranges, ORed; a missing bound is open. */
export interface RangeNarrowing {
  column: RangeColumn;
  ranges: { min?: number; max?: number }[];
}

export interface FindingNarrowing {
  scanType: "BASIC" | "ENHANCED";
  /** Only these repositories (the ones the caller may pull); undefined: all. */
  repositoryIds?: readonly number[];
  statuses?: readonly string[];
  severities?: readonly string[];
  fixAvailable?: readonly string[];
  exploitAvailable?: readonly boolean[];
  strings?: readonly StringNarrowing[];
  ranges?: readonly RangeNarrowing[];
}

export type FindingOrderField =
  | "id"
  | "first_observed_at"
  | "last_observed_at"
  | "severity_rank"
  | "status"
  | "pushed_at"
  | "repository_name"
  | "vulnerability_id"
  | "inspector_score"
  | "epss_score"
  | "source"
  | "vendor_severity";

export interface FindingOrder {
  field: FindingOrderField;
  desc: boolean;
}

export type OrderValue = string | number | null;

/** A finding with what the Inspector Finding shows of its image and repository. */
export interface ListedFinding extends StoredFindingRow {
  repositoryName: string;
  /** The manifest's creation (null: the image is deleted). */
  pushedAt: number | null;
  lastPulledAt: number | null;
  /** The repository's resource tags. */
  repositoryTags: Record<string, string>;
  imageTags: string[];
  /** The value of the order's sort expression (for keyset tokens). */
  orderValue: OrderValue;
}

export interface FindingListQuery {
  narrowing: FindingNarrowing;
  order: FindingOrder;
  after?: { value: OrderValue; id: string };
  limit: number;
}

const STRING_ORDER = new Set<FindingOrderField>([
  "status",
  "repository_name",
  "vulnerability_id",
  "source",
  "vendor_severity",
]);

/** Order fields whose value may be null (absent values sort last in both directions). */
const NULLABLE_ORDER = new Set<FindingOrderField>([
  "pushed_at",
  "inspector_score",
  "epss_score",
  "vendor_severity",
]);

/**
 * A finding's (alias `f`) severity as a number, most severe highest; the expression of the
 * severity-ordered indexes (migration 0010), which a query must repeat to be served by them.
 */
export const SEVERITY_RANK = sql`case f.severity when 'CRITICAL' then 5 when 'HIGH' then 4 when 'MEDIUM' then 3 when 'LOW' then 2 when 'INFORMATIONAL' then 1 when 'UNTRIAGED' then 0 else 6 end`;

/** A text member of the finding's own JSON (`a.b`: nested). */
function jsonText(h: Handle, path: string): RawBuilder<unknown> {
  return h.dialect === "postgres"
    ? sql`((f.json)::jsonb #>> ${sql.lit(`{${path.split(".").join(",")}}`)})`
    : sql`json_extract(f.json, ${sql.lit("$." + path)})`;
}

function orderExpression(h: Handle, field: FindingOrderField): RawBuilder<unknown> {
  const e = ((): RawBuilder<unknown> => {
    switch (field) {
      case "id":
        return sql`null`;
      case "first_observed_at":
        return sql`f.first_observed_at`;
      case "last_observed_at":
        return sql`f.last_observed_at`;
      case "severity_rank":
        return SEVERITY_RANK;
      case "status":
        return sql`f.status`;
      case "pushed_at":
        return sql`m.created_at`;
      case "repository_name":
        return sql`r.name`;
      case "vulnerability_id":
        return sql`f.vulnerability_id`;
      case "inspector_score":
        return sql`f.inspector_score`;
      case "epss_score":
        return sql`f.epss_score`;
      case "source":
        return sql`coalesce(nullif(${jsonText(h, "source")}, ''), 'drydock')`;
      case "vendor_severity":
        return sql`nullif(${jsonText(h, "vendorSeverity")}, '')`;
    }
  })();
  return STRING_ORDER.has(field) && h.dialect === "postgres" ? sql`(${e} collate "C")` : e;
}

const idExpr = (h: Handle) => (h.dialect === "postgres" ? sql`(f.id collate "C")` : sql`f.id`);

const RANGE_COLUMN: Record<RangeColumn, RawBuilder<unknown>> = {
  first_observed_at: sql`f.first_observed_at`,
  last_observed_at: sql`f.last_observed_at`,
  updated_at: sql`f.updated_at`,
  pushed_at: sql`m.created_at`,
  epss_score: sql`f.epss_score`,
  inspector_score: sql`f.inspector_score`,
};

const STRING_COLUMN: Record<StringNarrowing["column"], RawBuilder<unknown>> = {
  vulnerability_id: sql`f.vulnerability_id`,
  package_name: sql`f.package_name`,
  repository_name: sql`r.name`,
  digest: sql`f.digest`,
};

/** The narrowing as SQL conditions (ANDed). */
function conditions(n: FindingNarrowing): RawBuilder<SqlBool>[] {
  const out: RawBuilder<SqlBool>[] = [sql<SqlBool>`f.scan_type = ${n.scanType}`];
  const inList = (col: RawBuilder<unknown>, values: readonly (string | number)[]) =>
    values.length ? sql<SqlBool>`${col} in (${sql.join(values)})` : sql<SqlBool>`1 = 0`;
  if (n.repositoryIds) out.push(inList(sql`f.repository_id`, n.repositoryIds));
  if (n.statuses) out.push(inList(sql`f.status`, n.statuses));
  if (n.severities) out.push(inList(sql`f.severity`, n.severities));
  if (n.fixAvailable) out.push(inList(sql`f.fix_available`, n.fixAvailable));
  if (n.exploitAvailable)
    out.push(
      inList(
        sql`f.exploit_available`,
        n.exploitAvailable.map((b) => (b ? 1 : 0)),
      ),
    );
  for (const s of n.strings ?? []) {
    const col = STRING_COLUMN[s.column];
    const positives = [
      ...s.equals.map((v) => sql<SqlBool>`${col} = ${v}`),
      ...s.prefixes.map((p) => sql<SqlBool>`substr(${col}, 1, ${p.length}) = ${p}`),
    ];
    if (positives.length) out.push(sql<SqlBool>`(${sql.join(positives, sql` or `)})`);
    for (const v of s.notEquals) out.push(sql<SqlBool>`${col} <> ${v}`);
  }
  for (const r of n.ranges ?? []) {
    const col = RANGE_COLUMN[r.column];
    const any = r.ranges.map((x) => {
      const parts: RawBuilder<SqlBool>[] = [sql<SqlBool>`${col} is not null`];
      if (x.min !== undefined) parts.push(sql<SqlBool>`${col} >= ${x.min}`);
      if (x.max !== undefined) parts.push(sql<SqlBool>`${col} <= ${x.max}`);
      return sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
    });
    out.push(any.length ? sql<SqlBool>`(${sql.join(any, sql` or `)})` : sql<SqlBool>`1 = 0`);
  }
  return out;
}

/** One page of candidates in order (the caller filters them exactly and reads on). */
export async function listFindings(
  h: Handle,
  q: FindingListQuery,
): Promise<{ items: ListedFinding[]; more: boolean }> {
  const e = orderExpression(h, q.order.field);
  const id = idExpr(h);
  const where = conditions(q.narrowing);
  const byId = q.order.field === "id";
  // An order value the narrowing fixes (sorted by severity, one severity asked for) orders
  // nothing: the page is taken in id order, which an index gives without sorting every candidate.
  const fixedValue = q.order.field === "severity_rank" && q.narrowing.severities?.length === 1;
  if (q.after) {
    const { value, id: afterId } = q.after;
    if (byId) where.push(sql<SqlBool>`${id} > ${afterId}`);
    else if (value === null) where.push(sql<SqlBool>`(${e} is null and ${id} > ${afterId})`);
    else {
      const beyond = q.order.desc ? sql<SqlBool>`${e} < ${value}` : sql<SqlBool>`${e} > ${value}`;
      where.push(sql<SqlBool>`(${e} is null or ${beyond} or (${e} = ${value} and ${id} > ${afterId}))`);
    }
  }
  const dir = q.order.desc ? sql`desc` : sql`asc`;
  const order = (v: RawBuilder<unknown>, i: RawBuilder<unknown>) =>
    byId || fixedValue
      ? sql`${i} asc`
      : NULLABLE_ORDER.has(q.order.field)
        ? sql`(case when ${v} is null then 1 else 0 end) asc, ${v} ${dir}, ${i} asc`
        : // a column that is never null is ordered by itself, so that an index can give the order
          sql`${v} ${dir}, ${i} asc`;
  const pg = h.dialect === "postgres";
  const ov = STRING_ORDER.has(q.order.field) && pg ? sql`(o.order_value collate "C")` : sql`o.order_value`;
  const oid = pg ? sql`(o.id collate "C")` : sql`o.id`;
  const manifests =
    q.order.field === "pushed_at" || (q.narrowing.ranges ?? []).some((r) => r.column === "pushed_at");
  // The page is chosen on the findings alone (with the repository, and the manifest when the
  // order or a range needs it), then joined to what it shows: the joins are made for the page's
  // rows, not for every candidate the order has to look at.
  const rows = await sql<RawListedRow>`
    select f.*, r.name as repository_name, m.created_at as pushed_at, m.last_pulled_at as last_pulled_at,
      rs.tags as repository_tags, fd.json as details_json, o.order_value as order_value
    from (
      select f.id as id, ${e} as order_value
      from findings f
      join repositories r on r.id = f.repository_id
      ${manifests ? sql`left join manifests m on m.repository_id = f.repository_id and m.digest = f.digest` : sql``}
      where ${sql.join(where, sql` and `)}
      order by ${order(e, id)}
      limit ${q.limit + 1}) o
    join findings f on f.id = o.id
    join repositories r on r.id = f.repository_id
    left join manifests m on m.repository_id = f.repository_id and m.digest = f.digest
    left join repository_settings rs on rs.repository_id = f.repository_id
    left join finding_details fd on fd.hash = f.details_hash
    order by ${order(ov, oid)}`.execute(h.db);
  const page = rows.rows.slice(0, q.limit);
  const tags = await imageTags(
    h,
    page.map((r) => ({ repositoryId: Number(r.repository_id), digest: r.digest })),
  );
  const numeric = !STRING_ORDER.has(q.order.field);
  return {
    more: rows.rows.length > q.limit,
    // Object.assign onto the stored finding, not a spread of it: its document is made only
    // when read (records.ts parses the parts instead).
    items: page.map((r) =>
      Object.assign(toStoredFinding(r, r.details_json ?? undefined), {
        repositoryName: r.repository_name,
        pushedAt: r.pushed_at === null ? null : Number(r.pushed_at),
        lastPulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
        repositoryTags: resourceTags(r.repository_tags),
        imageTags: tags.get(`${Number(r.repository_id)}@${r.digest}`) ?? [],
        orderValue: r.order_value === null ? null : numeric ? Number(r.order_value) : String(r.order_value),
      }),
    ),
  };
}

interface RawListedRow extends FindingRowAsRead {
  repository_name: string;
  pushed_at: number | string | null;
  last_pulled_at: number | string | null;
  repository_tags: string | null;
  details_json: string | null;
  order_value: unknown;
}

/** Repository resource tags (`[{Key, Value}]` JSON) as a map. */
export function resourceTags(json: string | null): Record<string, string> {
  if (!json) return {};
  try {
    const list = JSON.parse(json) as { Key: string; Value: string }[] | null;
    return Object.fromEntries((list ?? []).map((t) => [t.Key, t.Value]));
  } catch {
    return {};
  }
}

/** The tags of images, by `repositoryId@digest`, in name order. */
export async function imageTags(
  h: Handle,
  images: readonly { repositoryId: number; digest: string }[],
): Promise<Map<string, string[]>> {
  const byRepo = new Map<number, Set<string>>();
  for (const i of images) byRepo.set(i.repositoryId, (byRepo.get(i.repositoryId) ?? new Set()).add(i.digest));
  const out = new Map<string, string[]>();
  for (const [repositoryId, digests] of byRepo) {
    const all = [...digests];
    for (let i = 0; i < all.length; i += 200)
      for (const t of await h.db
        .selectFrom("tags")
        .select(["digest", "name"])
        .where("repository_id", "=", repositoryId)
        .where("digest", "in", all.slice(i, i + 200))
        .orderBy("name")
        .execute()) {
        const k = `${repositoryId}@${t.digest}`;
        const list = out.get(k) ?? [];
        list.push(t.name);
        out.set(k, list);
      }
  }
  return out;
}

/** What a finding shows of its image (the columns the listing joins), for many images at once. */
export interface ImageContextRow {
  repositoryId: number;
  digest: string;
  repositoryName: string;
  /** The manifest's creation (null: the image is deleted). */
  pushedAt: number | null;
  lastPulledAt: number | null;
  repositoryTags: Record<string, string>;
  imageTags: string[];
}

/** The image context of images (repositories that do not exist are absent), in a few queries. */
export async function imageContexts(
  h: Handle,
  images: readonly { repositoryId: number; digest: string }[],
): Promise<ImageContextRow[]> {
  const wanted = new Set(images.map((i) => `${i.repositoryId}@${i.digest}`));
  const repositories = new Map<number, { name: string; tags: Record<string, string> }>();
  const repoIds = [...new Set(images.map((i) => i.repositoryId))];
  for (let i = 0; i < repoIds.length; i += 200)
    for (const r of await h.db
      .selectFrom("repositories as r")
      .leftJoin("repository_settings as rs", "rs.repository_id", "r.id")
      .select(["r.id", "r.name", "rs.tags"])
      .where("r.id", "in", repoIds.slice(i, i + 200))
      .execute())
      repositories.set(Number(r.id), { name: r.name, tags: resourceTags(r.tags) });
  const manifests = new Map<string, { pushedAt: number; lastPulledAt: number | null }>();
  for (let i = 0; i < images.length; i += 200) {
    const part = images.slice(i, i + 200);
    for (const m of await h.db
      .selectFrom("manifests")
      .select(["repository_id", "digest", "created_at", "last_pulled_at"])
      .where("repository_id", "in", [...new Set(part.map((x) => x.repositoryId))])
      .where("digest", "in", [...new Set(part.map((x) => x.digest))])
      .execute())
      manifests.set(`${m.repository_id}@${m.digest}`, {
        pushedAt: Number(m.created_at),
        lastPulledAt: m.last_pulled_at === null ? null : Number(m.last_pulled_at),
      });
  }
  const present = images.filter((i) => manifests.has(`${i.repositoryId}@${i.digest}`));
  const tags = await imageTags(h, present);
  const out: ImageContextRow[] = [];
  const done = new Set<string>();
  for (const i of images) {
    const k = `${i.repositoryId}@${i.digest}`;
    const repo = repositories.get(i.repositoryId);
    if (!repo || done.has(k) || !wanted.has(k)) continue;
    done.add(k);
    const m = manifests.get(k);
    out.push({
      repositoryId: i.repositoryId,
      digest: i.digest,
      repositoryName: repo.name,
      pushedAt: m ? m.pushedAt : null,
      lastPulledAt: m ? m.lastPulledAt : null,
      repositoryTags: repo.tags,
      imageTags: m ? (tags.get(k) ?? []) : [],
    });
  }
  return out;
}

/** What an aggregation groups by. */
export type AggregationGroup = "repository" | "image" | "layer" | "package" | "title" | "account";

/** One group's counts of the findings narrowed (severity counts, distinct images, fix and exploit). */
export interface AggregationRow {
  repositoryId: number;
  repositoryName: string;
  /** image, layer: the image. */
  digest?: string;
  /** layer: the package's layer (the document's package.layer). */
  layer?: string;
  /** package, title. */
  packageName?: string;
  /** title. */
  vulnerabilityId?: string;
  all: number;
  medium: number;
  high: number;
  critical: number;
  images: number;
  fixAvailable: number;
  exploitAvailable: number;
  /** image: the manifest's creation and last pull. */
  pushedAt?: number | null;
  lastPulledAt?: number | null;
}

/** Counts of the narrowed findings per group (GROUP BY), in no particular order. */
export async function aggregateFindings(
  h: Handle,
  narrowing: FindingNarrowing,
  group: AggregationGroup,
): Promise<AggregationRow[]> {
  const layer = jsonText(h, "package.layer");
  // Grouped on the findings alone (the repository and manifest joined only where the narrowing
  // needs them), then the groups joined to their repository and image: a million findings are
  // not each joined to their repository and manifest to make a hundred thousand groups.
  const keys: Record<AggregationGroup, RawBuilder<unknown>[]> = {
    repository: [sql`f.repository_id`],
    image: [sql`f.repository_id`, sql`f.digest`],
    layer: [sql`f.repository_id`, sql`f.digest`, layer],
    package: [sql`f.package_name`],
    title: [sql`f.vulnerability_id`, sql`f.package_name`],
    account: [],
  };
  const names: Record<AggregationGroup, string[]> = {
    repository: ["repository_id"],
    image: ["repository_id", "digest"],
    layer: ["repository_id", "digest", "layer"],
    package: ["package_name"],
    title: ["vulnerability_id", "package_name"],
    account: [],
  };
  const k = keys[group];
  const selected = k.map((e, i) => sql`${e} as ${sql.ref(names[group][i]!)}`);
  const count = (cond: Expression<unknown>) => sql`sum(case when ${cond} then 1 else 0 end)`;
  // Distinct images: one per image group, the digests within one repository's group.
  const images =
    group === "image" || group === "layer"
      ? sql`1`
      : group === "repository"
        ? sql`count(distinct f.digest)`
        : sql`count(distinct f.repository_id || '@' || f.digest)`;
  const repositoryName = (narrowing.strings ?? []).some((x) => x.column === "repository_name");
  // By repository or image: the findings counted from the image index alone, in image order
  // (it holds every column counted; migration 0010). SQLite, which keeps no statistics, would
  // otherwise take an index on the status and read every active finding's row in id order.
  const coveringIndex = h.dialect === "sqlite" && (group === "repository" || group === "image");
  const pushedAt = (narrowing.ranges ?? []).some((x) => x.column === "pushed_at");
  const grouped = countsAnswer(narrowing, group)
    ? groupedCounts(narrowing, group === "image")
    : sql`
    select ${sql.join([
      ...selected,
      sql`count(*) as n_all`,
      sql`${count(sql`f.severity = 'MEDIUM'`)} as n_medium`,
      sql`${count(sql`f.severity = 'HIGH'`)} as n_high`,
      sql`${count(sql`f.severity = 'CRITICAL'`)} as n_critical`,
      sql`${count(sql`f.fix_available = 'YES'`)} as n_fix`,
      sql`${count(sql`f.exploit_available = 1`)} as n_exploit`,
      sql`${images} as n_images`,
    ])}
    from findings f ${coveringIndex ? sql`indexed by findings_image` : sql``}
    ${repositoryName ? sql`join repositories r on r.id = f.repository_id` : sql``}
    ${pushedAt ? sql`left join manifests m on m.repository_id = f.repository_id and m.digest = f.digest` : sql``}
    where ${sql.join(conditions(narrowing), sql` and `)}
    ${k.length ? sql`group by ${sql.join(k)}` : sql``}`;
  const withRepository = group === "repository" || group === "image" || group === "layer";
  const rows = await sql<Record<string, unknown>>`
    select g.*
      ${withRepository ? sql`, r.name as repository_name` : sql``}
      ${group === "image" ? sql`, m.created_at as pushed_at, m.last_pulled_at as last_pulled_at` : sql``}
    from (${grouped}) g
    ${withRepository ? sql`join repositories r on r.id = g.repository_id` : sql``}
    ${group === "image" ? sql`left join manifests m on m.repository_id = g.repository_id and m.digest = g.digest` : sql``}`.execute(
    h.db,
  );
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  return rows.rows
    .filter((r) => num(r.n_all) > 0)
    .map((r) => ({
      repositoryId: num(r.repository_id),
      repositoryName: (r.repository_name as string | undefined) ?? "",
      ...(r.digest !== undefined ? { digest: r.digest as string } : {}),
      ...(r.layer !== undefined ? { layer: (r.layer as string | null) ?? "" } : {}),
      ...(r.package_name !== undefined ? { packageName: r.package_name as string } : {}),
      ...(r.vulnerability_id !== undefined ? { vulnerabilityId: r.vulnerability_id as string } : {}),
      ...(group === "image"
        ? {
            pushedAt: r.pushed_at === null ? null : num(r.pushed_at),
            lastPulledAt: r.last_pulled_at === null ? null : num(r.last_pulled_at),
          }
        : {}),
      all: num(r.n_all),
      medium: num(r.n_medium),
      high: num(r.n_high),
      critical: num(r.n_critical),
      images: num(r.n_images),
      fixAvailable: num(r.n_fix),
      exploitAvailable: num(r.n_exploit),
    }));
}

/**
 * Whether the maintained counts (finding-counts.ts) answer an aggregation: by repository or by
 * image, of one open status, narrowed by nothing but the repositories. The counts hold every
 * column those groups need but the fix and exploit counts, which only the account's group reads.
 */
function countsAnswer(n: FindingNarrowing, group: AggregationGroup): boolean {
  return (
    (group === "repository" || group === "image") &&
    n.statuses?.length === 1 &&
    (n.statuses[0] === "ACTIVE" || n.statuses[0] === "SUPPRESSED") &&
    !n.severities &&
    !n.fixAvailable &&
    !n.exploitAvailable &&
    !n.strings?.length &&
    !n.ranges?.length
  );
}

/**
 * The groups of aggregateFindings from image_finding_counts: a few rows per image instead of
 * every finding (100,000 images with a million findings: about 300,000 small rows).
 */
function groupedCounts(n: FindingNarrowing, byImage: boolean): RawBuilder<unknown> {
  const sum = (severity: string) => sql`sum(case when c.severity = ${severity} then c.count else 0 end)`;
  const where: RawBuilder<SqlBool>[] = [
    sql<SqlBool>`c.scan_type = ${n.scanType}`,
    sql<SqlBool>`c.status = ${n.statuses![0]!}`,
    sql<SqlBool>`c.count > 0`,
  ];
  if (n.repositoryIds)
    where.push(
      n.repositoryIds.length
        ? sql<SqlBool>`c.repository_id in (${sql.join(n.repositoryIds)})`
        : sql<SqlBool>`1 = 0`,
    );
  return sql`
    select c.repository_id as repository_id, ${byImage ? sql`c.digest as digest,` : sql``}
      sum(c.count) as n_all, ${sum("MEDIUM")} as n_medium, ${sum("HIGH")} as n_high,
      ${sum("CRITICAL")} as n_critical, 0 as n_fix, 0 as n_exploit,
      ${byImage ? sql`1` : sql`count(distinct c.digest)`} as n_images
    from image_finding_counts c
    where ${sql.join(where, sql` and `)}
    group by c.repository_id${byImage ? sql`, c.digest` : sql``}`;
}

/** A page of the maintained totals (finding-counts.ts): images or repositories by one count. */
export interface TotalsPageQuery {
  scanType: "BASIC" | "ENHANCED";
  status: "ACTIVE" | "SUPPRESSED";
  /** Only these repositories (the ones the caller may pull); undefined: all. */
  repositoryIds?: readonly number[];
  /** `images`: repositories only (their images with open findings). */
  sortBy: "all" | "critical" | "high" | "images";
  /**
   * Ties are in repository name then digest order, ascending with ASC; DESC is ASC reversed
   * whole (an index read backwards), as tokens.ts aggregationPage orders computed groups.
   */
  order: "ASC" | "DESC";
  offset: number;
  limit: number;
}

const totalsRow = (r: Record<string, unknown>, images: number): AggregationRow => ({
  repositoryId: Number(r.repository_id),
  repositoryName: r.repository_name as string,
  all: Number(r.n_all),
  medium: Number(r.n_medium),
  high: Number(r.n_high),
  critical: Number(r.n_critical),
  images,
  fixAvailable: 0,
  exploitAvailable: 0,
});

function totalsWhere(q: TotalsPageQuery): RawBuilder<SqlBool> {
  const where = [sql<SqlBool>`t.scan_type = ${q.scanType}`, sql<SqlBool>`t.status = ${q.status}`];
  if (q.repositoryIds)
    where.push(
      q.repositoryIds.length
        ? sql<SqlBool>`t.repository_id in (${sql.join(q.repositoryIds)})`
        : sql<SqlBool>`1 = 0`,
    );
  return sql.join(where, sql` and `) as RawBuilder<SqlBool>;
}

/**
 * The aggregation by image of every image (of `repositoryIds`), one page, from
 * image_finding_totals in the order of one of its indexes: the rows of the page only are
 * read, whatever the registry's size.
 */
export async function imageTotalsPage(
  h: Handle,
  q: TotalsPageQuery,
): Promise<{ rows: AggregationRow[]; more: boolean }> {
  if (q.sortBy === "images") throw new Error("images are not sorted by affected images");
  const dir = q.order === "DESC" ? sql`desc` : sql`asc`;
  const n = sql.ref(`t.n_${q.sortBy}`);
  const order = sql`${n} ${dir}, t.repository_name ${dir}, t.digest ${dir}`;
  const rows = await sql<Record<string, unknown>>`
    select t.*, m.created_at as pushed_at, m.last_pulled_at as last_pulled_at
    from (select t.* from image_finding_totals t where ${totalsWhere(q)}
      order by ${order} limit ${q.limit + 1} offset ${q.offset}) t
    left join manifests m on m.repository_id = t.repository_id and m.digest = t.digest
    order by ${order}`.execute(h.db);
  return {
    rows: rows.rows.slice(0, q.limit).map((r) => ({
      ...totalsRow(r, 1),
      digest: r.digest as string,
      pushedAt: r.pushed_at === null ? null : Number(r.pushed_at),
      lastPulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
    })),
    more: rows.rows.length > q.limit,
  };
}

/**
 * The aggregation by repository of every repository (of `repositoryIds`) with open findings,
 * one page, from repository_finding_totals (a row per repository: sorted whole in SQL).
 */
export async function repositoryTotalsPage(
  h: Handle,
  q: TotalsPageQuery,
): Promise<{ rows: AggregationRow[]; more: boolean }> {
  const dir = q.order === "DESC" ? sql`desc` : sql`asc`;
  const name = h.dialect === "postgres" ? sql`r.name collate "C"` : sql`r.name`;
  const rows = await sql<Record<string, unknown>>`
    select t.*, r.name as repository_name
    from repository_finding_totals t join repositories r on r.id = t.repository_id
    where ${totalsWhere(q)} and t.n_all > 0
    order by ${sql.ref(`t.n_${q.sortBy}`)} ${dir}, ${name} ${dir}
    limit ${q.limit + 1} offset ${q.offset}`.execute(h.db);
  return {
    rows: rows.rows.slice(0, q.limit).map((r) => totalsRow(r, Number(r.n_images))),
    more: rows.rows.length > q.limit,
  };
}

/** Sets the status of findings (suppression applied or lifted), moving `updated_at`. */
export async function setFindingStatus(
  h: Handle,
  ids: readonly string[],
  status: "ACTIVE" | "SUPPRESSED",
  at: number,
): Promise<void> {
  for (let i = 0; i < ids.length; i += 200)
    await h.db
      .updateTable("findings")
      .set({ status, updated_at: at })
      .where("id", "in", ids.slice(i, i + 200))
      .execute();
}
