import type { Page } from "../storage/meta/store.js";

/**
 * One page of a listing kept in key order by the store, showing only the items the caller may
 * see: store pages are read (after the last key) until the page holds `limit` visible items and
 * one more visible item is known to follow, or the store is exhausted. So a page is never short
 * while visible items remain, and `more` (→ nextToken) is true exactly when another visible item
 * follows; the token is the page's last key, as without filtering.
 *
 * `visible` undefined means everything is visible: one store page, the store's own `more`.
 */
export async function visiblePage<T, K>(
  fetch: (after: K | undefined, limit: number) => Promise<Page<T>>,
  opts: {
    after: K | undefined;
    limit: number;
    key: (item: T) => K;
    visible?: (item: T) => boolean;
    /** Store rows read per query when filtering (default: max(limit + 1, 100), at most 1000). */
    batch?: number;
  },
): Promise<Page<T>> {
  const { limit, visible } = opts;
  if (!visible) return fetch(opts.after, limit);
  const batch = opts.batch ?? Math.min(Math.max(limit + 1, 100), 1000);
  const items: T[] = [];
  let after = opts.after;
  for (;;) {
    const p = await fetch(after, batch);
    for (const item of p.items) {
      if (!visible(item)) continue;
      if (items.length === limit) return { items, more: true };
      items.push(item);
    }
    const last = p.items.at(-1);
    if (!p.more || last === undefined) return { items, more: false };
    after = opts.key(last);
  }
}
