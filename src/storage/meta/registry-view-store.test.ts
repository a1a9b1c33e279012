import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { findingStateAt, testManifest } from "./testing.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { FindingWrite, MetaStore } from "./store.js";

/**
 * RegistryViewStore on SQLite and PostgreSQL: a repository's images sorted by one severity's
 * findings (two parts read from indexes, counted images then the others) give, for every page,
 * exactly the slice of the order a full sort gives, in both directions and with the tag filter.
 */
describe.each(metaDrivers("registry views"))("RegistryViewStore (%s)", (_driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  let repositoryId: number;
  /** digest → critical findings; tagged when the index is even. */
  const critical = new Map<string, number>();
  const digests = Array.from({ length: 9 }, (_, i) => sha256(`image ${i}`));

  beforeAll(async () => {
    f = await open(() => 1_000);
    store = f.store;
    repositoryId = await store.registry.ensureRepository("team/app");
    const other = await store.registry.ensureRepository("team/other");
    const counts = [0, 3, 1, 0, 3, 0, 2, 1, 0];
    const writes: FindingWrite[] = [];
    for (const [i, digest] of digests.entries()) {
      const r = await store.registry.putManifest(
        testManifest(repositoryId, digest, i % 2 === 0 ? { tag: `v${i}` } : {}),
      );
      expect(r.ok).toBe(true);
      critical.set(digest, counts[i]!);
      for (let n = 0; n < counts[i]!; n++)
        for (const [repo, severity] of [
          [repositoryId, "CRITICAL"],
          [repositoryId, "HIGH"],
          [other, "CRITICAL"],
        ] as const)
          writes.push({
            identity: {
              repositoryId: repo,
              digest,
              scanType: "ENHANCED",
              vulnerabilityId: `CVE-2026-${n}`,
              packageName: severity,
              packagePath: "/p",
            },
            state: findingStateAt(1, { severity }),
            document: "{}",
          });
    }
    // a suppressed critical finding is not counted
    writes.push({
      ...writes[0]!,
      identity: { ...writes[0]!.identity, vulnerabilityId: "CVE-S" },
      state: { ...writes[0]!.state, status: "SUPPRESSED" },
    });
    await store.findings.put(writes);
  });
  afterAll(async () => {
    await store?.close();
    await f?.cleanup();
  });

  it("searches names by case-insensitive substring, whatever the characters of the search (property)", async () => {
    const names = [
      "team/app",
      "team/app_v2",
      "team/app%x",
      "team/a\\b",
      "other/secret",
      "Upper/case",
      "_drydock/reserved",
    ];
    for (const n of names) await store.registry.ensureRepository(n);
    const all = (
      await store.registryViews.repositories({
        sort: "name",
        order: "asc",
        limit: 200,
        offset: 0,
        scanType: "ENHANCED",
      })
    ).items.map((r) => r.name);
    expect(all).not.toContain("_drydock/reserved");
    const alphabet = fc.constantFrom(..."aAp_%\\/ex2".split(""));
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: alphabet, minLength: 1, maxLength: 4 }), async (search) => {
        const page = await store.registryViews.repositories({
          search,
          sort: "name",
          order: "asc",
          limit: 200,
          offset: 0,
          scanType: "ENHANCED",
        });
        const expected = all.filter((n) => n.toLowerCase().includes(search.toLowerCase()));
        expect(page.items.map((r) => r.name)).toEqual(expected);
        expect(page.total).toBe(expected.length);
      }),
      { numRuns: 60 },
    );
  });

  it("pages repositories by critical findings (then name) as a full sort would, with search and ids", async () => {
    const counts = [2, 0, 5, 2, 0, 1, 0, 5, 3];
    const ids = new Map<string, number>();
    const writes: FindingWrite[] = [];
    for (const [i, n] of counts.entries()) {
      const name = `sev/r${(i * 7) % 9}`;
      const id = await store.registry.ensureRepository(name);
      ids.set(name, id);
      for (let k = 0; k < n; k++)
        writes.push({
          identity: {
            repositoryId: id,
            digest: sha256(`x${k % 2}`),
            scanType: "ENHANCED",
            vulnerabilityId: `CVE-2026-${k}`,
            packageName: "p",
            packagePath: "/p",
          },
          state: findingStateAt(1, { severity: "CRITICAL" }),
          document: "{}",
        });
    }
    await store.findings.put(writes);
    const countOf = new Map([...ids.keys()].map((name, i) => [name, counts[i]!]));
    const allowed = [...ids.entries()].filter((_, i) => i % 3 !== 0);
    for (const restrict of [false, true])
      for (const order of ["asc", "desc"] as const) {
        const names = (restrict ? allowed.map(([n]) => n) : [...ids.keys()]).slice();
        const sign = order === "desc" ? -1 : 1;
        const expected = names.sort(
          (a, b) => sign * (countOf.get(a)! - countOf.get(b)!) || (a < b ? -1 : a > b ? 1 : 0),
        );
        for (let offset = 0; offset <= expected.length; offset++)
          for (const limit of [1, 2, 4, 20]) {
            const page = await store.registryViews.repositories({
              search: "SEV/",
              sort: "critical",
              order,
              limit,
              offset,
              scanType: "ENHANCED",
              ...(restrict ? { repositoryIds: allowed.map(([, id]) => id) } : {}),
            });
            expect(page.total).toBe(expected.length);
            expect(
              page.items.map((r) => r.name),
              `${order} offset ${offset} limit ${limit}`,
            ).toEqual(expected.slice(offset, offset + limit));
            for (const r of page.items) expect(r.counts.CRITICAL ?? 0).toBe(countOf.get(r.name));
          }
      }
  });

  for (const tagStatus of ["ANY", "TAGGED", "UNTAGGED"] as const)
    for (const order of ["asc", "desc"] as const)
      it(`pages by critical findings (${tagStatus}, ${order}) as a full sort would`, async () => {
        const kept = digests.filter((_, i) =>
          tagStatus === "ANY" ? true : tagStatus === "TAGGED" ? i % 2 === 0 : i % 2 === 1,
        );
        const sign = order === "desc" ? -1 : 1;
        const expected = [...kept].sort(
          (a, b) => sign * (critical.get(a)! - critical.get(b)!) || sign * (a < b ? -1 : a > b ? 1 : 0),
        );
        for (let offset = 0; offset <= expected.length + 1; offset++)
          for (let limit = 1; limit <= 4; limit++) {
            const page = await store.registryViews.images(repositoryId, {
              tagStatus,
              sort: "critical",
              order,
              limit,
              offset,
              scanType: "ENHANCED",
            });
            expect(page.total).toBe(expected.length);
            expect(page.digests, `offset ${offset} limit ${limit}`).toEqual(
              expected.slice(offset, offset + limit),
            );
          }
      });
});
