import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { AggregationRow, FindingNarrowing } from "./finding-query.js";
import type { FindingState, FindingWrite, MetaStore } from "./store.js";
import { findingStateAt } from "./testing.js";

/**
 * Aggregations by repository and by image answered from the maintained counts (finding-query.ts
 * countsAnswer) equal the same aggregations counted from the findings, on both drivers; the
 * pages of the maintained totals (imageTotals, repositoryTotals) are those groups sorted and
 * paged in the API's order.
 */

const T0 = Date.parse("2026-03-01T00:00:00Z");
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNTRIAGED"];

describe.each(metaDrivers("finding aggregations"))("aggregations from the counts (%s)", (_driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  beforeEach(async () => {
    f = await open(() => T0);
    store = f.store;
  });
  afterEach(async () => {
    await store.close();
    await f.cleanup();
  });

  const write = (
    repositoryId: number,
    image: string,
    n: number,
    over: Partial<FindingState>,
  ): FindingWrite => ({
    identity: {
      repositoryId,
      digest: sha256(image),
      scanType: "ENHANCED",
      vulnerabilityId: `CVE-2026-${n}`,
      packageName: `pkg${n % 3}`,
      packagePath: "/var/lib/dpkg/status",
    },
    state: findingStateAt(T0, { severity: SEVERITIES[n % SEVERITIES.length]!, ...over }),
    document: JSON.stringify({ vulnerabilityId: `CVE-2026-${n}` }),
  });

  it("by repository and by image, for every status, all repositories or some", async () => {
    const a = await store.registry.ensureRepository("team/a");
    const b = await store.registry.ensureRepository("team/b");
    const writes: FindingWrite[] = [];
    for (let n = 0; n < 40; n++) {
      const status = n % 7 === 0 ? "SUPPRESSED" : n % 11 === 0 ? "CLOSED" : "ACTIVE";
      writes.push(
        write(n % 2 ? a : b, `img${n % 5}`, n, { status, closedAt: status === "CLOSED" ? T0 : null }),
      );
    }
    await store.findings.put(writes);
    const sort = <T extends { repositoryId: number; digest?: string }>(rows: T[]) =>
      [...rows].sort(
        (x, y) => x.repositoryId - y.repositoryId || (x.digest ?? "").localeCompare(y.digest ?? ""),
      );
    for (const status of ["ACTIVE", "SUPPRESSED"])
      for (const repositoryIds of [undefined, [a], []])
        for (const group of ["repository", "image"] as const) {
          const fast: FindingNarrowing = { scanType: "ENHANCED", statuses: [status], repositoryIds };
          // Naming every severity counts the same findings, from the findings themselves.
          const slow: FindingNarrowing = { ...fast, severities: SEVERITIES };
          const counted = sort(await store.findings.aggregate(fast, group));
          const recounted = sort(await store.findings.aggregate(slow, group));
          const strip = (rows: typeof counted) =>
            rows.map(({ fixAvailable: _f, exploitAvailable: _e, ...r }) => r);
          expect(strip(counted), `${status} ${group} ${JSON.stringify(repositoryIds)}`).toEqual(
            strip(recounted),
          );
          if (repositoryIds?.length !== 0) expect(counted.length).toBeGreaterThan(0);
        }
  });
  it("pages of the totals: the counted groups in count, name and digest order, page after page", async () => {
    const a = await store.registry.ensureRepository("team/a");
    const ab = await store.registry.ensureRepository("team/a-b");
    const c = await store.registry.ensureRepository("team/c");
    const repos = [a, ab, c];
    const writes: FindingWrite[] = [];
    for (let n = 0; n < 90; n++) {
      const status = n % 7 === 0 ? "SUPPRESSED" : n % 13 === 0 ? "CLOSED" : "ACTIVE";
      writes.push(
        write(repos[n % 3]!, `img${n % 8}`, n, { status, closedAt: status === "CLOSED" ? T0 : null }),
      );
    }
    await store.findings.put(writes);
    // An image whose findings all close leaves the totals; its repository counts one image less.
    const gone = writes.filter((w) => w.identity.digest === sha256("img0"));
    await store.findings.put(
      gone.map((w) => ({ ...w, state: { ...w.state, status: "CLOSED", closedAt: T0 + 1 } })),
    );
    expect(await store.findings.countDrift()).toEqual([]);
    const names = new Map([
      [a, "team/a"],
      [ab, "team/a-b"],
      [c, "team/c"],
    ]);
    const key = (r: { repositoryId: number; digest?: string }) => [
      names.get(r.repositoryId)!,
      r.digest ?? "",
    ];
    const shown = (g: AggregationRow) => [
      g.repositoryName,
      g.digest,
      g.all,
      g.critical,
      g.high,
      g.medium,
      g.images,
    ];
    const cmp = (x: string[], y: string[]) =>
      x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : x[1]! < y[1]! ? -1 : x[1]! > y[1]! ? 1 : 0;
    for (const status of ["ACTIVE", "SUPPRESSED"] as const)
      for (const repositoryIds of [undefined, [a, c], []])
        for (const group of ["repository", "image"] as const)
          for (const sortBy of [
            "all",
            "critical",
            "high",
            ...(group === "repository" ? ["images" as const] : []),
          ] as const)
            for (const order of ["ASC", "DESC"] as const) {
              const groups = (
                await store.findings.aggregate(
                  { scanType: "ENHANCED", statuses: [status], repositoryIds, severities: SEVERITIES },
                  group,
                )
              ).filter((g) => g.all > 0);
              const by = (g: (typeof groups)[number]) => (sortBy === "images" ? g.images : g[sortBy]);
              const sign = order === "DESC" ? -1 : 1;
              const expected = [...groups]
                .sort((x, y) => sign * (by(x) - by(y) || cmp(key(x), key(y))))
                .map((g) => shown({ ...g, repositoryName: names.get(g.repositoryId)! }));
              const got: unknown[] = [];
              for (let offset = 0; ; offset += 3) {
                const q = {
                  scanType: "ENHANCED",
                  status,
                  sortBy,
                  order,
                  offset,
                  limit: 3,
                  ...(repositoryIds ? { repositoryIds } : {}),
                } as const;
                const page = await (group === "image"
                  ? store.findings.imageTotals(q)
                  : store.findings.repositoryTotals(q));
                got.push(...page.rows.map(shown));
                expect(page.rows.length).toBeLessThanOrEqual(3);
                if (!page.more) break;
              }
              expect(got, `${status} ${group} ${sortBy} ${order} ${JSON.stringify(repositoryIds)}`).toEqual(
                expected,
              );
              if (status === "ACTIVE" && repositoryIds?.length !== 0) expect(got.length).toBeGreaterThan(1);
            }
    expect(
      (
        await store.findings.imageTotals({
          scanType: "ENHANCED",
          status: "ACTIVE",
          sortBy: "all",
          order: "ASC",
          offset: 0,
          limit: 100,
        })
      ).rows.some((r) => r.digest === sha256("img0")),
    ).toBe(false);
  });
});
