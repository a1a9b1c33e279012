import { describe, expect, it } from "vitest";
import type { Page } from "../storage/meta/store.js";
import { visiblePage } from "./paging.js";

/** A store listing in key order, like SettingsStore.repositories, counting its queries. */
function store(names: string[]) {
  const sorted = [...names].sort();
  const s = {
    queries: 0,
    fetch: async (after: string | undefined, limit: number): Promise<Page<string>> => {
      s.queries++;
      const rest = sorted.filter((n) => after === undefined || n > after);
      return { items: rest.slice(0, limit), more: rest.length > limit };
    },
  };
  return s;
}

/** Every page of the listing, following `more` with the last key as the token. */
async function walk(
  names: string[],
  visible: ((n: string) => boolean) | undefined,
  limit: number,
  batch?: number,
) {
  const s = store(names);
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const p = await visiblePage(s.fetch, { after, limit, key: (n) => n, visible, batch });
    pages.push(p.items);
    if (!p.more) break;
    after = p.items.at(-1);
  }
  return { pages, queries: s.queries };
}

describe("visiblePage", () => {
  const names = Array.from({ length: 23 }, (_, i) => `r${String(i).padStart(2, "0")}`);

  it("pages hold `limit` visible items and more is set exactly when another visible item follows", async () => {
    const filters: [string, (n: string) => boolean][] = [
      ["every third", (n) => Number(n.slice(1)) % 3 === 0],
      ["only the last", (n) => n === "r22"],
      ["only the first", (n) => n === "r00"],
      ["none", () => false],
      ["all (filtered path)", () => true],
    ];
    for (const [label, visible] of filters) {
      const expected = names.filter(visible);
      for (const limit of [1, 2, 3, 5, 100]) {
        for (const batch of [1, 2, 4, undefined]) {
          const { pages } = await walk(names, visible, limit, batch);
          const why = `${label}, limit ${limit}, batch ${batch}`;
          expect(pages.flat(), why).toEqual(expected);
          // Every page but the last is full; the last is not empty unless nothing is visible.
          for (const p of pages.slice(0, -1)) expect(p.length, why).toBe(limit);
          expect(pages.at(-1)!.length > 0 || expected.length === 0, why).toBe(true);
          expect(pages.length, why).toBe(Math.max(1, Math.ceil(expected.length / limit)));
        }
      }
    }
  });

  it("without a filter, reads one store page and passes its `more` on", async () => {
    const { pages, queries } = await walk(names, undefined, 10);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 3]);
    expect(queries).toBe(3);
  });

  it("reads the store in batches while filtering", async () => {
    // 23 rows, one visible: one query of 100 rows finds it and the end of the store.
    expect((await walk(names, (n) => n === "r05", 1)).queries).toBe(1);
    expect((await walk(names, (n) => n === "r05", 1, 5)).queries).toBe(5);
  });

  it("starts after the token's key", async () => {
    const s = store(names);
    const p = await visiblePage(s.fetch, {
      after: "r10",
      limit: 2,
      key: (n) => n,
      visible: (n) => n.endsWith("1") || n.endsWith("2"),
    });
    expect(p).toEqual({ items: ["r11", "r12"], more: true });
  });
});
