import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import { findingRow } from "./finding-rows.js";
import { itCarriesOver } from "./migration-testing.js";
import { findingStateAt } from "./testing.js";
import type { FindingState, FindingWrite, MetaStore } from "./store.js";

/**
 * Conformance of the maintained finding counts and totals (finding-counts.ts, migrations 0015
 * and 0017) on SQLite
 * and PostgreSQL: after every kind of change (create, severity change, close, reopen,
 * suppression, image forgotten, repository deleted, purge, concurrent writers on two
 * connections) the counts equal a recount of the findings.
 */

const T0 = Date.parse("2026-02-02T00:00:00Z");

describe.each(metaDrivers("finding counts"))("maintained finding counts (%s)", (driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  let clock = T0;
  beforeEach(async () => {
    clock = T0;
    f = await open(() => clock);
    store = f.store;
  });
  afterEach(async () => {
    await store.close();
    await f.cleanup();
  });

  const state = (over: Partial<FindingState> = {}) => findingStateAt(clock, over);
  const write = (
    repositoryId: number,
    n: number,
    over: Partial<FindingState> = {},
    digest = sha256("img"),
  ): FindingWrite => ({
    identity: {
      repositoryId,
      digest,
      scanType: "ENHANCED",
      vulnerabilityId: `CVE-2026-${n}`,
      packageName: "openssl",
      packagePath: "/var/lib/dpkg/status",
    },
    state: state(over),
    document: JSON.stringify({ vulnerabilityId: `CVE-2026-${n}` }),
  });
  const counts = async (repositoryId: number, digest = sha256("img")) => ({
    image: (await store.findings.imageCounts(repositoryId, [digest], "ENHANCED")).get(digest) ?? {},
    repository: (await store.findings.repositoryCounts([repositoryId], "ENHANCED")).get(repositoryId) ?? {},
    suppressed:
      (await store.findings.imageCounts(repositoryId, [digest], "ENHANCED", "SUPPRESSED")).get(digest) ?? {},
  });

  it("follow creation, severity changes, closing, reopening and suppression", async () => {
    const r = await store.registry.ensureRepository("team/app");
    const other = sha256("other");
    await store.findings.put([
      write(r, 1, { severity: "CRITICAL" }),
      write(r, 2),
      write(r, 3),
      write(r, 4, {}, other),
    ]);
    expect(await counts(r)).toEqual({
      image: { CRITICAL: 1, HIGH: 2 },
      repository: { CRITICAL: 1, HIGH: 3 },
      suppressed: {},
    });
    expect(await store.findings.countDrift()).toEqual([]);

    // severity moves, one closes
    await store.findings.put([
      write(r, 2, { severity: "LOW" }),
      write(r, 3, { status: "CLOSED", closedAt: clock }),
    ]);
    expect(await counts(r)).toEqual({
      image: { CRITICAL: 1, LOW: 1 },
      repository: { CRITICAL: 1, HIGH: 1, LOW: 1 },
      suppressed: {},
    });
    // reopened; the same write again changes nothing
    await store.findings.put([write(r, 3, { severity: "MEDIUM" })]);
    await store.findings.put([write(r, 3, { severity: "MEDIUM" })]);
    expect((await counts(r)).image).toEqual({ CRITICAL: 1, LOW: 1, MEDIUM: 1 });
    expect(await store.findings.countDrift()).toEqual([]);

    // suppression and its lifting
    const ids = (await store.findings.forImage(r, sha256("img"), "ENHANCED")).map((x) => x.id);
    await store.findings.setStatus(ids, "SUPPRESSED", clock);
    expect(await counts(r)).toEqual({
      image: {},
      repository: { HIGH: 1 },
      suppressed: { CRITICAL: 1, LOW: 1, MEDIUM: 1 },
    });
    await store.findings.setStatus(ids.slice(0, 1), "ACTIVE", clock);
    expect(await store.findings.countDrift()).toEqual([]);

    // a closed finding purged: counts unchanged
    await store.findings.put([write(r, 2, { status: "CLOSED", closedAt: clock, closedReason: "fixed" })]);
    clock += 1000;
    expect(await store.findings.purgeClosed(clock)).toBe(1);
    expect(await store.findings.countDrift()).toEqual([]);

    // the image forgotten, then the repository deleted
    await store.findings.forgetImage(r, sha256("img"));
    expect(await counts(r)).toEqual({ image: {}, repository: { HIGH: 1 }, suppressed: {} });
    expect(await store.findings.countDrift()).toEqual([]);
    await store.registry.deleteRepository(r);
    expect((await counts(r)).repository).toEqual({});
    expect(await store.findings.countDrift()).toEqual([]);
  });

  it("roll back with the change's transaction", async () => {
    const r = await store.registry.ensureRepository("team/app");
    await expect(
      store.tx(async (t) => {
        await t.findings.put([write(r, 1)]);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await counts(r)).toEqual({ image: {}, repository: {}, suppressed: {} });
    expect(await store.findings.countDrift()).toEqual([]);
  });

  // SQLite has one writer at a time: the race exists on PostgreSQL only.
  it.skipIf(driver === "sqlite")(
    "count each change once when two connections write the same findings at once",
    async () => {
      const r = await store.registry.ensureRepository("team/app");
      const second = await f.another();
      try {
        for (let round = 0; round < 5; round++) {
          const severity = round % 2 ? "LOW" : "CRITICAL";
          const writes = Array.from({ length: 30 }, (_, i) => write(r, i + round * 10, { severity }));
          const results = await Promise.allSettled([
            store.findings.put(writes),
            second.findings.put(writes.slice().reverse()),
            second.findings.setStatus([], "ACTIVE", clock),
          ]);
          // A deadlock between the two is PostgreSQL's answer to crossing writers, not a miscount.
          for (const x of results)
            if (x.status === "rejected") expect(String(x.reason)).toMatch(/deadlock|busy|locked/i);
          expect(await store.findings.countDrift()).toEqual([]);
        }
      } finally {
        await second.close();
      }
    },
  );
});

/** Migrations 0015 and 0017 fill the counts and totals from the findings a data directory already holds. */
describe("migrations 0015 and 0017 (finding counts, totals) on existing findings", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema as 0014 left it
  const rows = async (db: Kysely<any>) => {
    for (const name of ["team/a", "team/b"])
      await db.insertInto("repositories").values({ name, created_at: T0 }).execute();
    for (let n = 0; n < 30; n++) {
      const status = n % 5 === 0 ? "SUPPRESSED" : n % 7 === 0 ? "CLOSED" : "ACTIVE";
      const { row, details } = findingRow(
        {
          repositoryId: 1 + (n % 2),
          digest: sha256(`img${n % 4}`),
          scanType: n % 9 === 0 ? "BASIC" : "ENHANCED",
          vulnerabilityId: `CVE-2026-${n}`,
          packageName: "openssl",
          packagePath: "/var/lib/dpkg/status",
        },
        findingStateAt(T0, {
          status,
          severity: ["CRITICAL", "HIGH", "MEDIUM", "LOW"][n % 4]!,
          closedAt: status === "CLOSED" ? T0 : null,
        }),
        JSON.stringify({ vulnerabilityId: `CVE-2026-${n}` }),
      );
      await db
        .insertInto("finding_details")
        .values(details)
        .onConflict((oc) => oc.doNothing())
        .execute();
      await db.insertInto("findings").values(row).execute();
    }
  };
  const check = async (store: MetaStore) => {
    expect(await store.findings.countDrift()).toEqual([]);
    const page = await store.findings.repositoryTotals({
      scanType: "ENHANCED",
      status: "ACTIVE",
      sortBy: "all",
      order: "DESC",
      offset: 0,
      limit: 10,
    });
    expect(page.rows.map((r) => r.repositoryName).sort()).toEqual(["team/a", "team/b"]);
    expect(page.rows.every((r) => r.all > 0 && r.images > 0)).toBe(true);
  };

  itCarriesOver("0014_exceptions_vex", rows, check);
});
