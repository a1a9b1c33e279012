import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filterMatches } from "../../scan/filters.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import { wildcardLike } from "./settings-store.js";
import type { MetaStore } from "./store.js";

/**
 * SettingsStore's filter queries (the console's scanning preview) on both dialects: the
 * repositories an ECR wildcard filter matches, decided in SQL, must be exactly those
 * src/scan/filters.ts filterMatches says, on ECR's documented table and on arbitrary filters
 * and names (LIKE's own metacharacters `%` and `_` literal, `*` any run).
 */

const NAMES = ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"] as const;
// ECR's table (image-scanning-filters.html), as in src/scan/filters.test.ts.
const TABLE: Record<string, readonly string[]> = {
  prod: ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"],
  "*prod": ["prod", "repo-prod"],
  "prod*": ["prod", "prod-repo", "prodrepo"],
  "*prod*": ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"],
  "prod*repo": ["prod-repo", "prodrepo"],
};
// Names that a LIKE without escaping, or a "contains" read as anchored, would get wrong.
const TRICKY = ["a_b", "axb", "a%b", "a!b", "team/app", "team/app/dev", "x.y", "xzy", "_drydock/internal"];

async function matchingNames(store: MetaStore, filters: string[], limit = 3): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await store.settings.repositoriesMatching(filters, { ...(after ? { after } : {}), limit });
    out.push(...p.items.map((r) => r.name));
    // Compared as sets: PostgreSQL's collation may order `a_b` and `a%b` otherwise than
    // SQLite; paging uses the same order as the listing, so nothing repeats or goes missing.
    if (!p.more) return out.sort();
    after = p.items.at(-1)!.name;
  }
}

describe("wildcardLike", () => {
  it("escapes LIKE's characters and turns * into %", () => {
    expect(wildcardLike("prod")).toBe("%prod%");
    expect(wildcardLike("prod*")).toBe("prod%");
    expect(wildcardLike("a_b*")).toBe("a!_b%");
    expect(wildcardLike("50%!")).toBe("%50!%!!%");
  });
});

describe.each(metaDrivers("SettingsStore filters"))("SettingsStore filters (%s)", (_driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  const names = [...NAMES, ...TRICKY];
  beforeAll(async () => {
    f = await open(() => 1_000);
    store = f.store;
    for (const n of names) await store.settings.createRepository(n, {});
  });
  afterAll(async () => {
    await store.close();
    await f.cleanup();
  });
  const visible = names.filter((n) => !n.startsWith("_"));

  it.each(Object.entries(TABLE))("ECR's table: filter %s", async (filter, expected) => {
    const got = (await matchingNames(store, [filter])).filter((n) =>
      (NAMES as readonly string[]).includes(n),
    );
    expect(got).toEqual([...expected].sort());
    expect(NAMES.filter((n) => filterMatches(filter, n)).sort()).toEqual([...expected].sort());
  });

  it("pages (nothing repeated or missed), never lists Drydock's reserved repositories, and counts sets in one pass", async () => {
    expect(await matchingNames(store, ["*"], 2)).toEqual([...visible].sort());
    expect(await matchingNames(store, [])).toEqual([]);
    expect(await matchingNames(store, ["a_b"])).toEqual(["a_b"]);
    expect(await matchingNames(store, ["a%b"])).toEqual(["a%b"]);
    expect(await matchingNames(store, ["team/*"])).toEqual(["team/app", "team/app/dev"]);
    expect(await matchingNames(store, ["x.y", "prod*repo"])).toEqual(["prod-repo", "prodrepo", "x.y"]);
    expect(
      await store.settings.countMatching([["*"], [], ["prod"], ["*prod", "prod*"], ["drydock"]]),
    ).toEqual([visible.length, 0, 5, 4, 0]);
    expect(await store.settings.countMatching([])).toEqual([]);
  });

  it("agrees with filterMatches on arbitrary filters (property)", async () => {
    const filter = fc.stringMatching(/^[a-z_%!./*-]{1,8}$/);
    await fc.assert(
      fc.asyncProperty(fc.array(filter, { minLength: 1, maxLength: 3 }), async (filters) => {
        const expected = visible.filter((n) => filters.some((x) => filterMatches(x, n))).sort();
        expect(await matchingNames(store, filters, 4)).toEqual(expected);
        expect(await store.settings.countMatching([filters])).toEqual([expected.length]);
      }),
      { numRuns: 60 },
    );
  });
});
