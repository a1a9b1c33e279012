import { sql, type RawBuilder } from "kysely";
import type { Handle } from "./handle.js";

/**
 * The console's registry views (src/api/console/repositories.ts, images.ts): repositories and
 * the images of one repository, filtered, sorted and paged in the database with offset paging
 * (the console shows page numbers). Sorting by findings reads the maintained counts
 * (finding-counts.ts), never a GROUP BY over the findings; counts of images and last pushes are
 * grouped over the manifests only when the sort needs them, else for the page's rows alone.
 * Which repositories the caller may see comes as a list of ids (one parameter, whatever its
 * length: json_each on SQLite, an array on PostgreSQL).
 */

export type RepositoryViewSort =
  "name" | "created" | "images" | "lastPush" | "findings" | "critical" | "high" | "medium" | "low";

export interface RepositoryViewQuery {
  /** A substring of the name (case-insensitive). */
  search?: string;
  sort: RepositoryViewSort;
  order: "asc" | "desc";
  limit: number;
  offset: number;
  /** Whose findings count: the registry's current scan type. */
  scanType: "BASIC" | "ENHANCED";
  /** Only these repositories (the caller's); undefined: every one. */
  repositoryIds?: readonly number[];
}

export interface RepositoryViewRow {
  id: number;
  name: string;
  createdAt: number;
  /** The repository-level scan-on-push flag (BASIC without rules). */
  scanOnPush: boolean;
  images: number;
  /** The latest push of any of its images, or null when it has none. */
  lastPushAt: number | null;
  /** ACTIVE findings by severity under `scanType`. */
  counts: Record<string, number>;
}

export type ImageViewSort =
  "pushedAt" | "lastPull" | "digest" | "tag" | "critical" | "high" | "medium" | "low";

export interface ImageViewQuery {
  tagStatus: "TAGGED" | "UNTAGGED" | "ANY";
  sort: ImageViewSort;
  order: "asc" | "desc";
  limit: number;
  offset: number;
  scanType: "BASIC" | "ENHANCED";
}

const SEVERITY: Record<string, string> = {
  critical: "CRITICAL",
  high: "HIGH",
  medium: "MEDIUM",
  low: "LOW",
};

/** `%`, `_` and `\` of a LIKE pattern taken literally (ESCAPE '\'). */
export function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class RegistryViewStore {
  constructor(private readonly h: Handle) {}

  private idsIn(column: RawBuilder<unknown>, ids: readonly number[]): RawBuilder<unknown> {
    return this.h.dialect === "postgres"
      ? sql`${column} = any(${[...ids]}::int[])`
      : sql`${column} in (select value from json_each(${JSON.stringify(ids)}))`;
  }

  private text(e: RawBuilder<unknown>): RawBuilder<unknown> {
    return this.h.dialect === "postgres" ? sql`(${e} collate "C")` : e;
  }

  /** A page of repositories and how many match (reserved `_…` repositories are never listed). */
  async repositories(q: RepositoryViewQuery): Promise<{ items: RepositoryViewRow[]; total: number }> {
    const where: RawBuilder<unknown>[] = [sql`substr(r.name, 1, 1) <> '_'`];
    if (q.search !== undefined)
      where.push(sql`lower(r.name) like ${"%" + likeLiteral(q.search.toLowerCase()) + "%"} escape '\\'`);
    if (q.repositoryIds) where.push(this.idsIn(sql`r.id`, q.repositoryIds));
    const cond = sql.join(where, sql` and `);
    const dir = q.order === "desc" ? sql`desc` : sql`asc`;
    let join = sql``;
    let key: RawBuilder<unknown>;
    switch (q.sort) {
      case "name":
        key = this.text(sql`r.name`);
        break;
      case "created":
        key = sql`r.created_at`;
        break;
      case "images":
      case "lastPush":
        join = sql`left join (select repository_id, count(*) as n,
            max(coalesce(last_pushed_at, created_at)) as last
          from manifests group by repository_id) m on m.repository_id = r.id`;
        key = q.sort === "images" ? sql`coalesce(m.n, 0)` : sql`coalesce(m.last, -1)`;
        break;
      case "findings":
        join = sql`left join (select repository_id, sum(count) as n from repository_finding_counts
          where scan_type = ${q.scanType} and status = 'ACTIVE' group by repository_id) c
          on c.repository_id = r.id`;
        key = sql`coalesce(c.n, 0)`;
        break;
      default:
        key = sql`null`; // by one severity: read in two parts below
    }
    const name = this.text(sql`r.name`);
    const total = await sql<{ n: number }>`select count(*) as n from repositories r where ${cond}`.execute(
      this.h.db,
    );
    type Row = { id: number; name: string; created_at: number };
    let rows: Row[];
    if (SEVERITY[q.sort] !== undefined) {
      // By one severity's count, then name: the counted repositories in count order from the
      // index repository_finding_counts_order, the others by name; never a sort of them all.
      const counted = sql`c.scan_type = ${q.scanType} and c.status = 'ACTIVE'
        and c.severity = ${SEVERITY[q.sort]!} and c.count > 0`;
      const nonzero = sql`from repository_finding_counts c join repositories r on r.id = c.repository_id
        where ${counted} and ${cond}`;
      const n = Number(
        (await sql<{ n: number }>`select count(*) as n ${nonzero}`.execute(this.h.db)).rows[0]?.n ?? 0,
      );
      rows = await twoParts({
        total: Number(total.rows[0]?.n ?? 0),
        counted: n,
        desc: q.order === "desc",
        offset: q.offset,
        limit: q.limit,
        readCounted: async (offset, limit) =>
          (
            await sql<Row>`select r.id, r.name, r.created_at ${nonzero}
              order by c.count ${dir}, ${name} asc limit ${limit} offset ${offset}`.execute(this.h.db)
          ).rows,
        readOthers: async (offset, limit) =>
          (
            await sql<Row>`select r.id, r.name, r.created_at from repositories r where ${cond}
              and not exists (select 1 from repository_finding_counts c where ${counted} and c.repository_id = r.id)
              order by ${name} asc limit ${limit} offset ${offset}`.execute(this.h.db)
          ).rows,
      });
    } else
      rows = (
        await sql<Row>`
          select r.id, r.name, r.created_at from repositories r ${join}
          where ${cond}
          order by ${key} ${dir}, ${name} asc
          limit ${q.limit} offset ${q.offset}`.execute(this.h.db)
      ).rows;
    const ids = rows.map((r) => Number(r.id));
    const stats = new Map<number, { n: number; last: number | null }>();
    const settings = new Map<number, boolean>();
    const counts = new Map<number, Record<string, number>>();
    if (ids.length) {
      for (const s of (
        await sql<{ repository_id: number; n: number; last: number | null }>`
          select repository_id, count(*) as n, max(coalesce(last_pushed_at, created_at)) as last
          from manifests where ${this.idsIn(sql`repository_id`, ids)} group by repository_id`.execute(
          this.h.db,
        )
      ).rows)
        stats.set(Number(s.repository_id), { n: Number(s.n), last: s.last === null ? null : Number(s.last) });
      for (const s of await this.h.db
        .selectFrom("repository_settings")
        .select(["repository_id", "scan_on_push"])
        .where("repository_id", "in", ids)
        .execute())
        settings.set(Number(s.repository_id), Number(s.scan_on_push) === 1);
      for (const c of await this.h.db
        .selectFrom("repository_finding_counts")
        .select(["repository_id", "severity", "count"])
        .where("repository_id", "in", ids)
        .where("scan_type", "=", q.scanType)
        .where("status", "=", "ACTIVE")
        .where("count", ">", 0)
        .execute()) {
        const e = counts.get(Number(c.repository_id)) ?? {};
        e[c.severity] = Number(c.count);
        counts.set(Number(c.repository_id), e);
      }
    }
    return {
      total: Number(total.rows[0]?.n ?? 0),
      items: rows.map((r) => {
        const id = Number(r.id);
        return {
          id,
          name: r.name,
          createdAt: Number(r.created_at),
          scanOnPush: settings.get(id) ?? false,
          images: stats.get(id)?.n ?? 0,
          lastPushAt: stats.get(id)?.last ?? null,
          counts: counts.get(id) ?? {},
        };
      }),
    };
  }

  /** A page of a repository's images (manifest digests, in the page's order) and how many match. */
  async images(repositoryId: number, q: ImageViewQuery): Promise<{ digests: string[]; total: number }> {
    const where: RawBuilder<unknown>[] = [sql`m.repository_id = ${repositoryId}`];
    const tagged = sql`exists (select 1 from tags t where t.repository_id = m.repository_id and t.digest = m.digest)`;
    if (q.tagStatus === "TAGGED") where.push(tagged);
    if (q.tagStatus === "UNTAGGED") where.push(sql`not ${tagged}`);
    const cond = sql.join(where, sql` and `);
    const dir = q.order === "desc" ? sql`desc` : sql`asc`;
    let key: RawBuilder<unknown>;
    switch (q.sort) {
      case "pushedAt":
        key = sql`m.created_at`;
        break;
      case "lastPull":
        key = sql`coalesce(m.last_pulled_at, -1)`;
        break;
      case "digest":
        // (PostgreSQL refuses a constant in ORDER BY: the tie-breaker itself is the key)
        key = this.text(sql`m.digest`);
        break;
      case "tag":
        // untagged images after (ascending) or before (descending) every tag
        key = this.text(
          sql`coalesce((select min(t.name) from tags t where t.repository_id = m.repository_id and t.digest = m.digest), '')`,
        );
        break;
      default:
        return this.imagesBySeverity(repositoryId, q, cond);
    }
    const rows = await sql<{ digest: string }>`
      select m.digest from manifests m where ${cond}
      order by ${key} ${dir}, ${this.text(sql`m.digest`)} ${dir}
      limit ${q.limit} offset ${q.offset}`.execute(this.h.db);
    const total = await sql<{ n: number }>`select count(*) as n from manifests m where ${cond}`.execute(
      this.h.db,
    );
    return { digests: rows.rows.map((r) => r.digest), total: Number(total.rows[0]?.n ?? 0) };
  }

  /**
   * Images by their count of one severity's ACTIVE findings, then digest, in two parts read in
   * order from indexes, never sorted whole: the images with such findings (the index
   * image_finding_counts_order gives them by count and digest) and the images without (the
   * manifests' primary key gives them by digest, each checked against the counts). Descending,
   * the counted ones come first; ascending, last. A 100,000-image repository sorted by joining
   * every image to its count took 350 ms.
   */
  private async imagesBySeverity(
    repositoryId: number,
    q: ImageViewQuery,
    cond: RawBuilder<unknown>,
  ): Promise<{ digests: string[]; total: number }> {
    const severity = SEVERITY[q.sort]!;
    const desc = q.order === "desc";
    const dir = desc ? sql`desc` : sql`asc`;
    const counted = sql`c.repository_id = ${repositoryId} and c.scan_type = ${q.scanType}
      and c.status = 'ACTIVE' and c.severity = ${severity} and c.count > 0`;
    const nonzero = sql`from image_finding_counts c
      join manifests m on m.repository_id = c.repository_id and m.digest = c.digest
      where ${counted} and ${cond}`;
    const zero = sql`from manifests m where ${cond} and not exists (select 1 from image_finding_counts c
      where ${counted} and c.digest = m.digest)`;
    const total = Number(
      (await sql<{ n: number }>`select count(*) as n from manifests m where ${cond}`.execute(this.h.db))
        .rows[0]?.n ?? 0,
    );
    const n = Number(
      (await sql<{ n: number }>`select count(*) as n ${nonzero}`.execute(this.h.db)).rows[0]?.n ?? 0,
    );
    const read = async (part: RawBuilder<{ digest: string }>) =>
      (await part.execute(this.h.db)).rows.map((r) => r.digest);
    const digests = await twoParts({
      total,
      counted: n,
      desc,
      offset: q.offset,
      limit: q.limit,
      readCounted: (offset, limit) =>
        read(sql<{ digest: string }>`select m.digest ${nonzero}
          order by c.count ${dir}, ${this.text(sql`c.digest`)} ${dir} limit ${limit} offset ${offset}`),
      readOthers: (offset, limit) =>
        read(sql<{ digest: string }>`select m.digest ${zero}
          order by ${this.text(sql`m.digest`)} ${dir} limit ${limit} offset ${offset}`),
    });
    return { digests, total };
  }

  /**
   * Every repository's id and name (reserved `_…` ones included), in pages by id: what a caller's
   * access rules are tested against. Two columns of one table, read in large pages: 100,000
   * repositories in a few tens of milliseconds.
   */
  async repositoryNames(afterId: number, limit: number): Promise<{ id: number; name: string }[]> {
    const rows = await this.h.db
      .selectFrom("repositories")
      .select(["id", "name"])
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: Number(r.id), name: r.name }));
  }

  /** Of these tag names, the ones the repository has. */
  async existingTags(repositoryId: number, names: readonly string[]): Promise<Set<string>> {
    if (!names.length) return new Set();
    const rows = await this.h.db
      .selectFrom("tags")
      .select("name")
      .where("repository_id", "=", repositoryId)
      .where("name", "in", [...names])
      .execute();
    return new Set(rows.map((r) => r.name));
  }

  /** The artifact types of the referrers of each subject (manifests whose `subject` it is). */
  async referrerTypes(repositoryId: number, subjects: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!subjects.length) return out;
    for (const r of await this.h.db
      .selectFrom("manifests")
      .select(["subject", "artifact_type", "media_type"])
      .where("repository_id", "=", repositoryId)
      .where("subject", "in", [...subjects])
      .execute())
      out.set(r.subject!, [...(out.get(r.subject!) ?? []), r.artifact_type ?? r.media_type]);
    return out;
  }
}

/**
 * One page of an order made of two parts: the rows counted under a severity (`counted` of them)
 * and the others; descending, the counted come first, ascending, last. Reads from each part only
 * the rows of the page.
 */
async function twoParts<T>(o: {
  total: number;
  counted: number;
  desc: boolean;
  offset: number;
  limit: number;
  readCounted: (offset: number, limit: number) => Promise<T[]>;
  readOthers: (offset: number, limit: number) => Promise<T[]>;
}): Promise<T[]> {
  const [readFirst, readSecond] = o.desc ? [o.readCounted, o.readOthers] : [o.readOthers, o.readCounted];
  // positions [0, first) come from the first part, the rest from the second
  const first = o.desc ? o.counted : o.total - o.counted;
  const fromFirst = o.offset < first ? Math.min(o.limit, first - o.offset) : 0;
  const a = fromFirst > 0 ? await readFirst(o.offset, fromFirst) : [];
  const left = o.limit - fromFirst;
  const b = left > 0 ? await readSecond(Math.max(0, o.offset - first), left) : [];
  return [...a, ...b];
}
