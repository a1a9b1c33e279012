import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { FindingNarrowing } from "./finding-query.js";
import type { FindingState, FindingWrite, MetaStore } from "./store.js";
import { findingStateAt } from "./testing.js";

/**
 * Aggregations by repository and by image answered from the maintained counts (finding-query.ts
 * countsAnswer) equal the same aggregations counted from the findings, on both drivers.
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
});
