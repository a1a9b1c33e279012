import { badParameter } from "./router.js";

/**
 * Readers of the console API's query parameters: each returns the typed value or throws a
 * 400 BadParameter naming the parameter and what it accepts. Every list of the console is
 * paged with `limit` and `offset` and sorted with `sort` and `order` (pageParams).
 */

type Query = Record<string, string | undefined>;

/** A page of a list, as every console list answers. */
export interface PageOf<T> {
  items: T[];
  /** Rows matching the filters (capped when counting them all would be slow: see totalCapped). */
  total: number;
  /** True when `total` is a lower bound (more rows than the count was allowed to read). */
  totalCapped?: true;
  limit: number;
  offset: number;
}

export interface PageParams {
  limit: number;
  offset: number;
  sort: string;
  order: "asc" | "desc";
}

export const DEFAULT_LIMIT = 50;
/** Deep offsets cost a scan of the rows skipped; beyond this, filter instead of paging. */
export const MAX_OFFSET = 100_000;

export function pageParams(
  query: Query,
  opts: {
    sorts: readonly string[];
    defaultSort: string;
    defaultOrder?: "asc" | "desc";
    maxLimit?: number;
  },
): PageParams {
  const maxLimit = opts.maxLimit ?? 200;
  return {
    limit: intParam(query, "limit", { min: 1, max: maxLimit }) ?? Math.min(DEFAULT_LIMIT, maxLimit),
    offset: intParam(query, "offset", { min: 0, max: MAX_OFFSET }) ?? 0,
    sort: enumParam(query, "sort", opts.sorts) ?? opts.defaultSort,
    order: enumParam(query, "order", ["asc", "desc"] as const) ?? opts.defaultOrder ?? "asc",
  };
}

/** A string parameter (trimmed; empty counts as absent), at most `maxLength` characters. */
export function stringParam(
  query: Query,
  name: string,
  opts: { maxLength?: number } = {},
): string | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") throw badParameter(`${name}: give it once`);
  const v = raw.trim();
  if (v === "") return undefined;
  const max = opts.maxLength ?? 256;
  if (v.length > max) throw badParameter(`${name}: at most ${max} characters`);
  return v;
}

/** One of `values`, exactly (case-sensitive, as the API documents them). */
export function enumParam<T extends string>(query: Query, name: string, values: readonly T[]): T | undefined {
  const v = stringParam(query, name, { maxLength: 64 });
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v))
    throw badParameter(`${name}: one of ${values.join(", ")} (got ${JSON.stringify(v)})`);
  return v as T;
}

/** A comma-separated list of `values` (each once), e.g. `severity=CRITICAL,HIGH`. */
export function enumListParam<T extends string>(
  query: Query,
  name: string,
  values: readonly T[],
): T[] | undefined {
  const v = stringParam(query, name, { maxLength: 1024 });
  if (v === undefined) return undefined;
  const out = new Set<T>();
  for (const part of v.split(",")) {
    const p = part.trim();
    if (!(values as readonly string[]).includes(p))
      throw badParameter(
        `${name}: a comma-separated list of ${values.join(", ")} (got ${JSON.stringify(p)})`,
      );
    out.add(p as T);
  }
  return [...out];
}

/** A decimal integer within [min, max]. */
export function intParam(
  query: Query,
  name: string,
  bounds: { min: number; max: number },
): number | undefined {
  const v = stringParam(query, name, { maxLength: 16 });
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw badParameter(`${name}: an integer (got ${JSON.stringify(v)})`);
  const n = Number(v);
  if (n < bounds.min || n > bounds.max)
    throw badParameter(`${name}: between ${bounds.min} and ${bounds.max} (got ${n})`);
  return n;
}

/** `true` or `false`. */
export function boolParam(query: Query, name: string): boolean | undefined {
  const v = enumParam(query, name, ["true", "false"] as const);
  return v === undefined ? undefined : v === "true";
}

/** Wraps a page of rows as every console list answers. */
export function pageOf<T>(items: T[], total: number, p: Pick<PageParams, "limit" | "offset">): PageOf<T> {
  return { items, total, limit: p.limit, offset: p.offset };
}
