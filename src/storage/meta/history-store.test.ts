import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { DAY_MS, utcDay, WEEK_MS, weekStart } from "./history-store.js";
import { itCarriesOver } from "./migration-testing.js";
import { freshPostgres, pgServerUrl, pgSkipReason } from "./postgres-testing.js";
import { findingStateAt } from "./testing.js";
import { openSqliteMetaStore } from "./sqlite.js";
import type { FindingState, FindingWrite, MetaStore } from "./store.js";

/**
 * Conformance of the finding history and the retention purges (history-store.ts,
 * FindingStore.purgeClosed/purgeUnusedDetails, InventoryStore.purgeUnusedSegments) on SQLite and
 * PostgreSQL, with an injected clock; and migration 0007's carry-over of existing rows.
 */

interface Fixture {
  store: MetaStore;
  cleanup: () => Promise<void>;
}

const T0 = Date.parse("2025-03-03T00:00:00Z"); // a Monday

const drivers: [string, boolean, (now: () => number) => Promise<Fixture>][] = [
  [
    "sqlite",
    true,
    async (now) => {
      const dir = await mkdtemp(join(tmpdir(), "drydock-history-"));
      return {
        store: await openSqliteMetaStore(join(dir, "meta.db"), now),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
  ["postgres", pgServerUrl !== undefined, (now) => freshPostgres(now)],
];

if (!pgServerUrl) console.warn(`history-store PostgreSQL tests skipped: ${pgSkipReason}`);

for (const [driver, available, open] of drivers)
  describe.skipIf(!available)(`HistoryStore and retention purges (${driver})`, () => {
    let clock = T0;
    let f: Fixture;
    let store: MetaStore;
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
      o: { digest?: string; scanType?: "BASIC" | "ENHANCED"; text?: string } = {},
    ): FindingWrite => ({
      identity: {
        repositoryId,
        digest: o.digest ?? sha256("img"),
        scanType: o.scanType ?? "ENHANCED",
        vulnerabilityId: `CVE-2025-${n}`,
        packageName: "openssl",
        packagePath: "/var/lib/dpkg/status",
      },
      state: state(over),
      document: JSON.stringify({ vulnerabilityId: `CVE-2025-${n}`, title: o.text ?? `text ${n}` }),
    });
    const idOf = async (repositoryId: number, n: number, digest = sha256("img")) =>
      (await store.findings.forImage(repositoryId, digest, "ENHANCED")).find(
        (r) => r.vulnerabilityId === `CVE-2025-${n}`,
      )!.id;
    const close = (w: FindingWrite, at: number, reason?: "fixed" | "deleted" | "ineligible") => ({
      ...w,
      state: { ...w.state, status: "CLOSED" as const, closedAt: at, updatedAt: at, closedReason: reason },
    });

    it("records an interval per open period in the finding's own write: open, severity, close, reopen", async () => {
      const a = await store.registry.ensureRepository("a");
      await store.findings.put([write(a, 1)]);
      const id = await idOf(a, 1);
      expect(await store.history.intervals(id)).toEqual([
        {
          findingId: id,
          repositoryId: a,
          scanType: "ENHANCED",
          severity: "HIGH",
          openedAt: T0,
          closedAt: null,
          closedReason: null,
        },
      ]);
      // an update while open: the same interval, its severity the latest
      clock += 1000;
      await store.findings.put([write(a, 1, { severity: "CRITICAL", firstObservedAt: T0 })]);
      await store.findings.setStatus([id], "SUPPRESSED", clock);
      expect(await store.history.intervals(id)).toMatchObject([
        { severity: "CRITICAL", openedAt: T0, closedAt: null },
      ]);
      // closed: the interval closes with the reason, the row keeps it
      clock += 1000;
      await store.findings.put([close(write(a, 1, { severity: "CRITICAL" }), clock, "ineligible")]);
      expect((await store.findings.byIds([id]))[0]).toMatchObject({
        status: "CLOSED",
        closedReason: "ineligible",
      });
      expect(await store.history.intervals(id)).toMatchObject([
        { openedAt: T0, closedAt: T0 + 2000, closedReason: "ineligible" },
      ]);
      // reopened in the same millisecond it closed, then closed without a reason (a match): fixed
      await store.findings.put([write(a, 1, { firstObservedAt: T0 })]);
      expect((await store.findings.byIds([id]))[0]!.closedReason).toBeNull();
      clock += 5000;
      await store.findings.put([close(write(a, 1), clock)]);
      expect(await store.history.intervals(id)).toMatchObject([
        { openedAt: T0, closedAt: T0 + 2000, closedReason: "ineligible" },
        { openedAt: T0 + 2000, closedAt: T0 + 7000, closedReason: "fixed", severity: "HIGH" },
      ]);
      // a CLOSED finding written again does not close anything twice
      clock += 1000;
      await store.findings.put([close(write(a, 1), clock, "deleted")]);
      expect((await store.history.intervals(id)).map((i) => i.closedAt)).toEqual([T0 + 2000, T0 + 7000]);
    });

    it("an image forgotten or a repository deleted closes the open intervals of its findings as deleted", async () => {
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      await store.findings.put([
        write(a, 1, {}, { digest: sha256("x") }),
        write(a, 2, {}, { digest: sha256("y") }),
        write(b, 3),
      ]);
      const [x1, y2, b3] = [await idOf(a, 1, sha256("x")), await idOf(a, 2, sha256("y")), await idOf(b, 3)];
      clock += 10;
      await store.findings.forgetImage(a, sha256("x"));
      expect(await store.history.intervals(x1)).toMatchObject([{ closedAt: clock, closedReason: "deleted" }]);
      expect(await store.history.intervals(y2)).toMatchObject([{ closedAt: null }]);
      clock += 10;
      await store.registry.deleteRepository(b);
      expect(await store.history.intervals(b3)).toMatchObject([{ closedAt: clock, closedReason: "deleted" }]);
      expect(await store.history.intervals(y2)).toMatchObject([{ closedAt: null }]);
    });

    it("purges closed findings by reason and age in bounded batches; their history and shared text survive as needed", async () => {
      const a = await store.registry.ensureRepository("a");
      const writes = [
        ...Array.from({ length: 5 }, (_, i) => close(write(a, i, {}, { text: "shared" }), T0 + 10, "fixed")),
        close(write(a, 10, {}, { text: "only-deleted" }), T0 + 10, "deleted"),
        close(write(a, 11, {}, { text: "shared" }), T0 + 10, "ineligible"),
        write(a, 12, {}, { text: "shared" }),
        close(write(a, 13), T0 + 500, "fixed"),
      ];
      // open first so that each has an interval, then close
      await store.findings.put(writes.map((w) => ({ ...w, state: state() })));
      await store.findings.put(writes);
      const gone = await idOf(a, 10);
      expect(await store.findings.purgeClosed(T0 + 11, { reasons: [], limit: 10 })).toBe(0);
      expect(
        await store.findings.purgeClosed(T0 + 11, { reasons: ["deleted", "ineligible"], limit: 1 }),
      ).toBe(1);
      expect(
        await store.findings.purgeClosed(T0 + 11, { reasons: ["deleted", "ineligible"], limit: 1 }),
      ).toBe(1);
      expect(await store.findings.purgeClosed(T0 + 11, { reasons: ["deleted", "ineligible"] })).toBe(0);
      expect(await store.findings.purgeClosed(T0 + 10, { reasons: ["fixed"] })).toBe(0); // not before
      expect(await store.findings.purgeClosed(T0 + 11, { reasons: ["fixed"], limit: 2 })).toBe(2);
      expect(await store.findings.purgeClosed(T0 + 11, { reasons: ["fixed"], limit: 10 })).toBe(3);
      const left = await store.findings.forImage(a, sha256("img"), "ENHANCED");
      expect(left.map((r) => r.vulnerabilityId).sort()).toEqual(["CVE-2025-12", "CVE-2025-13"]);
      expect(await store.history.intervals(gone)).toMatchObject([{ closedReason: "deleted" }]);
      // the text of the purged findings goes in a sweep; text still referenced stays
      let next: string | null = null;
      let deleted = 0;
      do {
        const r: { deleted: number; next: string | null; busy?: true } =
          await store.findings.purgeUnusedDetails(next, 1);
        expect(r.busy).toBeUndefined();
        deleted += r.deleted;
        next = r.next;
      } while (next !== null);
      expect(deleted).toBe(1); // "only-deleted"
      const kept = await store.findings.forImage(a, sha256("img"), "ENHANCED");
      expect(kept.map((r) => JSON.parse(r.document).title).sort()).toEqual(["shared", "text 13"]);
      // a finding of purged text written again brings its text back
      await store.findings.put([write(a, 10, {}, { text: "only-deleted" })]);
      expect(JSON.parse((await store.findings.byIds([gone]))[0]!.document).title).toBe("only-deleted");
      // and it is open again under the same id, with a new interval
      expect((await store.history.intervals(gone)).map((i) => i.closedAt === null)).toEqual([false, true]);
    });

    it.skipIf(driver !== "postgres")(
      "the texts' sweep never makes writers wait: busy while a transaction writing findings is open",
      async () => {
        const a = await store.registry.ensureRepository("a");
        await store.tx(async (tx) => {
          await tx.findings.put([write(a, 1)]);
          // another connection of the pool, as another process would be
          expect(await store.findings.purgeUnusedDetails(null, 10)).toEqual({
            deleted: 0,
            next: null,
            busy: true,
          });
        });
        expect(await store.findings.purgeUnusedDetails(null, 10)).toEqual({ deleted: 0, next: null });
      },
    );

    it("snapshots counts once per day, a second snapshot of the day replacing the first; reads days by severity", async () => {
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      const day1 = utcDay(T0);
      expect(await store.history.hasSnapshot(day1)).toBe(false);
      // the daily pass's marker only moves forward
      expect(await store.history.lastDailyRun()).toBeNull();
      await store.history.markDailyRun(20_150);
      await store.history.markDailyRun(20_149);
      expect(await store.history.lastDailyRun()).toBe(20_150);
      await store.history.markDailyRun(20_151);
      expect(await store.history.lastDailyRun()).toBe(20_151);
      await store.findings.put([
        write(a, 1, { severity: "CRITICAL" }),
        write(a, 2, { severity: "CRITICAL" }),
        write(a, 3, { severity: "HIGH", status: "SUPPRESSED" }),
        write(b, 4, { severity: "CRITICAL" }),
        write(b, 5, { severity: "HIGH" }, { scanType: "BASIC" }),
        close(write(b, 6, { severity: "LOW" }), T0, "fixed"),
      ]);
      expect(await store.history.snapshot(day1)).toBe(5);
      expect(await store.history.snapshot(day1)).toBe(5); // replaced, not doubled
      expect(await store.history.hasSnapshot(day1)).toBe(true);
      await store.findings.put([write(a, 7, { severity: "CRITICAL" })]);
      const day2 = utcDay(T0 + DAY_MS);
      await store.history.snapshot(day2);
      await store.findings.put([close(write(a, 7, { severity: "CRITICAL" }), T0, "fixed")]);
      await store.history.snapshot(day2);
      await store.findings.put([write(a, 8, { severity: "CRITICAL" })]);
      await store.history.snapshot(utcDay(T0 + 2 * DAY_MS));
      expect(await store.history.countsPerDay({ from: day1, to: day2 })).toEqual([
        { day: day1, severity: "CRITICAL", count: 3 },
        { day: day1, severity: "HIGH", count: 1 }, // BASIC's HIGH
        { day: day2, severity: "CRITICAL", count: 3 },
        { day: day2, severity: "HIGH", count: 1 },
      ]);
      expect(
        await store.history.countsPerDay({
          from: day1,
          to: "2099-01-01",
          narrowing: { repositoryIds: [a], scanType: "ENHANCED" },
        }),
      ).toEqual([
        { day: day1, severity: "CRITICAL", count: 2 },
        { day: day2, severity: "CRITICAL", count: 2 },
        { day: utcDay(T0 + 2 * DAY_MS), severity: "CRITICAL", count: 3 },
      ]);
      expect(
        await store.history.countsPerDay({ from: day1, to: day1, statuses: ["SUPPRESSED", "CLOSED"] }),
      ).toEqual([
        { day: day1, severity: "HIGH", count: 1 },
        { day: day1, severity: "LOW", count: 1 },
      ]);
      expect(
        await store.history.countsPerDay({ from: day1, to: day2, narrowing: { repositoryIds: [] } }),
      ).toEqual([]);
      // purge: the oldest day first, one day per call
      expect(await store.history.purgeSnapshotDay(day1)).toBe(0);
      expect(await store.history.purgeSnapshotDay(utcDay(T0 + 2 * DAY_MS))).toBe(5);
      expect(await store.history.purgeSnapshotDay(utcDay(T0 + 2 * DAY_MS))).toBeGreaterThan(0);
      expect(await store.history.purgeSnapshotDay(utcDay(T0 + 2 * DAY_MS))).toBe(0);
      expect(await store.history.hasSnapshot(utcDay(T0 + 2 * DAY_MS))).toBe(true);
    });

    it("answers new versus fixed per week and mean time to remediate by severity from the intervals", async () => {
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      const hour = 3_600_000;
      // week 1 (T0 is a Monday): three opened; week 2: one opened, two fixed, one deleted, one ineligible
      const at = async (ms: number, fn: () => Promise<void>) => {
        clock = ms;
        await fn();
      };
      await at(T0 + hour, () => store.findings.put([write(a, 1, { severity: "CRITICAL" }), write(a, 2)]));
      await at(T0 + 6 * DAY_MS, () => store.findings.put([write(b, 3, { severity: "CRITICAL" })]));
      await at(T0 + WEEK_MS + hour, () => store.findings.put([write(a, 4, { severity: "LOW" })]));
      await at(T0 + WEEK_MS + 2 * hour, () =>
        store.findings.put([close(write(a, 1, { severity: "CRITICAL" }), clock, "fixed")]),
      );
      await at(T0 + WEEK_MS + 3 * hour, () => store.findings.put([close(write(a, 2), clock, "deleted")]));
      await at(T0 + WEEK_MS + 4 * hour, () =>
        store.findings.put([close(write(b, 3, { severity: "CRITICAL" }), clock, "ineligible")]),
      );
      await at(T0 + 2 * WEEK_MS, () => store.findings.put([close(write(a, 4, { severity: "LOW" }), clock)]));
      expect(weekStart(T0 + 3 * DAY_MS)).toBe(T0);
      const weeks = await store.history.newVersusFixedPerWeek({ from: T0 + DAY_MS, to: T0 + 2 * WEEK_MS });
      expect(weeks).toEqual([
        { weekStart: T0, opened: 3, fixed: 0 },
        { weekStart: T0 + WEEK_MS, opened: 1, fixed: 2 },
      ]);
      expect(
        await store.history.newVersusFixedPerWeek({
          from: T0,
          to: T0 + 3 * WEEK_MS,
          fixedReasons: ["ineligible"],
          narrowing: { repositoryIds: [b] },
        }),
      ).toEqual([
        { weekStart: T0, opened: 1, fixed: 0 },
        { weekStart: T0 + WEEK_MS, opened: 0, fixed: 1 },
        { weekStart: T0 + 2 * WEEK_MS, opened: 0, fixed: 0 },
      ]);
      const mttr = await store.history.meanTimeToRemediate({ from: T0, to: T0 + 3 * WEEK_MS });
      expect(mttr).toEqual([
        { severity: "CRITICAL", closed: 1, meanMs: WEEK_MS + hour },
        { severity: "HIGH", closed: 1, meanMs: WEEK_MS + 2 * hour },
        { severity: "LOW", closed: 1, meanMs: WEEK_MS - hour },
      ]);
      expect(
        await store.history.meanTimeToRemediate({
          from: T0,
          to: T0 + 2 * WEEK_MS, // the LOW one closed at the end: outside
          reasons: ["fixed", "ineligible"],
        }),
      ).toEqual([
        {
          severity: "CRITICAL",
          closed: 2,
          meanMs: Math.round((WEEK_MS + hour + WEEK_MS + 4 * hour - 6 * DAY_MS) / 2),
        },
      ]);
      expect(
        await store.history.meanTimeToRemediate({
          from: T0,
          to: T0 + 3 * WEEK_MS,
          narrowing: { scanType: "BASIC" },
        }),
      ).toEqual([]);
      // intervals closed before a time are purged in batches; open ones never
      expect(await store.history.purgeIntervals(T0 + WEEK_MS + 3 * hour + 1, 1)).toBe(1);
      expect(await store.history.purgeIntervals(T0 + WEEK_MS + 3 * hour + 1, 10)).toBe(1);
      expect(await store.history.purgeIntervals(T0 + 10 * WEEK_MS, 10)).toBe(2);
      await store.findings.put([write(a, 9)]);
      expect(await store.history.purgeIntervals(T0 + 100 * WEEK_MS, 10)).toBe(0);
      expect(await store.history.intervals(await idOf(a, 9))).toHaveLength(1);
    });

    it("purges unused inventory segments only after the grace counted from their last use", async () => {
      const a = await store.registry.ensureRepository("a");
      const seg = (n: string) => ({ distroKey: null, packages: [`{"name":"${n}"}`], keys: [`npm ${n}`] });
      await store.inventories.putImage(a, sha256("1"), null, [seg("base"), seg("one")]);
      await store.inventories.putImage(a, sha256("2"), null, [seg("base")]);
      const [base] = await store.inventories.segmentsWithKeys(["npm base"]);
      await store.inventories.forgetImage(a, sha256("1"));
      await store.inventories.forgetImage(a, sha256("2"));
      const hour = 3_600_000;
      // unused, but used within the grace: kept
      clock += 59 * 60_000;
      expect(await store.inventories.purgeUnusedSegments(clock - hour)).toBe(0);
      // an hour later, a scan stores an image on the old "base": it takes it, refreshing its use
      clock += 2 * hour;
      await store.inventories.putImage(a, sha256("3"), null, [seg("base")]);
      expect(await store.inventories.segmentsWithKeys(["npm base"])).toEqual([base]);
      await store.inventories.forgetImage(a, sha256("3"));
      expect(await store.inventories.purgeUnusedSegments(clock - hour)).toBe(1); // "one" only
      expect(await store.inventories.segmentsWithKeys(["npm one"])).toEqual([]);
      clock += hour + 1;
      expect(await store.inventories.purgeUnusedSegments(clock - hour, 1)).toBe(1);
      expect(await store.inventories.segmentsWithKeys(["npm base"])).toEqual([]);
      // a segment in use is never purged
      await store.inventories.putImage(a, sha256("4"), null, [seg("used")]);
      clock += 10 * hour;
      expect(await store.inventories.purgeUnusedSegments(clock)).toBe(0);
    });
  });

describe("migration 0007 carries existing findings and segments over", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema as 0006 left it
  const rows = async (db: Kysely<any>) => {
    await db.insertInto("repositories").values({ name: "r", created_at: 1 }).execute();
    await db
      .insertInto("manifests")
      .values({ repository_id: 1, digest: "sha256:kept", media_type: "m", size: 1, created_at: 1 })
      .execute();
    const finding = (id: string, digest: string, status: string, closedAt: number | null) => ({
      id,
      repository_id: 1,
      digest,
      scan_type: "ENHANCED",
      vulnerability_id: "CVE-1",
      package_name: id,
      package_path: "",
      status,
      severity: "HIGH",
      fix_available: "NO",
      exploit_available: 0,
      first_observed_at: 100,
      last_observed_at: 200,
      updated_at: 200,
      closed_at: closedAt,
      json: "{}",
      details_hash: "h",
    });
    await db.insertInto("finding_details").values({ hash: "h", json: "{}" }).execute();
    await db
      .insertInto("findings")
      .values([
        finding("open", "sha256:kept", "ACTIVE", null),
        finding("matched-away", "sha256:kept", "CLOSED", 300),
        finding("image-gone", "sha256:gone", "CLOSED", 400),
      ])
      .execute();
    await db
      .insertInto("inventory_segments")
      .values({ hash: "s", distro_key: null, package_count: 0, created_at: 77 })
      .execute();
  };
  const check = async (store: MetaStore) => {
    const byId = new Map(
      (await store.findings.byIds(["open", "matched-away", "image-gone"])).map((r) => [r.id, r]),
    );
    expect(byId.get("open")!.closedReason).toBeNull();
    expect(byId.get("matched-away")!.closedReason).toBe("fixed");
    expect(byId.get("image-gone")!.closedReason).toBe("deleted");
    expect(await store.history.intervals("open")).toMatchObject([{ openedAt: 100, closedAt: null }]);
    expect(await store.history.intervals("matched-away")).toMatchObject([
      { openedAt: 100, closedAt: 300, closedReason: "fixed" },
    ]);
    expect(await store.history.intervals("image-gone")).toMatchObject([
      { openedAt: 100, closedAt: 400, closedReason: "deleted" },
    ]);
    // the segment's last use starts at its creation: purged by a purge after it
    expect(await store.inventories.purgeUnusedSegments(77)).toBe(0);
    expect(await store.inventories.purgeUnusedSegments(78)).toBe(1);
  };

  itCarriesOver("0006_inspector_filters", rows, check);
});
