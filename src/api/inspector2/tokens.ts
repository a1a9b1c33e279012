import { compareStrings } from "../../core/compare.js";
import { invalidField } from "./errors.js";

/**
 * Page tokens for backends: base64url JSON of the position after the last item returned (the
 * sort key and the id, for keyset paging), tagged with what the token is for so that a token of
 * one listing is refused by another. A token that cannot be read is a ValidationException
 * naming `nextToken`.
 */
export function encodePageToken(kind: string, position: unknown): string {
  return Buffer.from(JSON.stringify({ t: kind, p: position })).toString("base64url");
}

export function decodePageToken<T>(
  kind: string,
  token: string | undefined,
  check: (p: unknown) => p is T,
): T | undefined {
  if (token === undefined || token === "") return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { t?: unknown; p?: unknown };
    if (v && v.t === kind && check(v.p)) return v.p;
  } catch {
    /* fall through */
  }
  throw invalidField("nextToken", "Member must be a token returned by a previous call of this operation");
}

/**
 * One page of aggregation rows: sorted by their count (`by`) then key, ascending with ASC;
 * DESC is ASC reversed whole (ties too), the order the maintained totals' indexes give when
 * read backwards (storage/meta/finding-query.ts imageTotalsPage). Paged by offset.
 */
export function aggregationPage<R>(
  rows: { key: string; by: number; row: R }[],
  sortOrder: "ASC" | "DESC",
  q: { nextToken?: string; maxResults: number },
): { items: R[]; nextToken?: string } {
  const sign = sortOrder === "DESC" ? -1 : 1;
  const sorted = [...rows].sort(
    (a, b) => sign * (a.by !== b.by ? a.by - b.by : compareStrings(a.key, b.key)),
  );
  const offset = aggregationOffset(q.nextToken);
  return {
    items: sorted.slice(offset, offset + q.maxResults).map((x) => x.row),
    ...(offset + q.maxResults < sorted.length
      ? { nextToken: encodePageToken("aggregations", offset + q.maxResults) }
      : {}),
  };
}

/**
 * The tie order of image aggregation rows: repository name, then digest (a NUL sorts below
 * every character a name may hold, so this is the pair's order).
 */
export const imageOrderKey = (repositoryName: string, digest: string): string =>
  `${repositoryName}\u0000${digest}`;

/** Where an aggregation page starts (its token's offset; 0 without one). */
export const aggregationOffset = (nextToken: string | undefined): number =>
  decodePageToken("aggregations", nextToken, isOffset) ?? 0;

/** An offset position in a page token. */
export const isOffset = (p: unknown): p is number =>
  typeof p === "number" && Number.isSafeInteger(p) && p >= 0;
