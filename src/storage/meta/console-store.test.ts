import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { findingStateAt } from "./testing.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import { addStat, finishStats } from "./console-store.js";
import { DAY_MS, utcDay } from "./history-store.js";
import { openSqliteMetaStore } from "./sqlite.js";
import type { FindingState, FindingWrite, MetaStore } from "./store.js";

/**
 * ConsoleStore conformance on both dialects: the daily rollup of the finding history (account
 * wide and per repository), the per-vulnerability counts in keyset chunks and their orders, a
 * vulnerability's open findings paged in index order, coverage counts, and report records (one
 * per period, also between two connections racing as two nodes would).
 */

const T0 = Date.parse("2025-03-03T00:00:00Z"); // a Monday
const D1 = utcDay(T0);
const D2 = utcDay(T0 + DAY_MS);

describe.each(metaDrivers("ConsoleStore"))("ConsoleStore (%s)", (driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  let clock = T0;
  beforeEach(async () => {
    clock = T0 + 3_600_000;
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
    vuln: string,
    over: Partial<FindingState> = {},
    o: { image?: string; pkg?: string } = {},
  ): FindingWrite => ({
    identity: {
      repositoryId,
      digest: sha256(o.image ?? "img"),
      scanType: "ENHANCED",
      vulnerabilityId: vuln,
      packageName: o.pkg ?? "openssl",
      packagePath: "/var/lib/dpkg/status",
    },
    state: state(over),
    document: JSON.stringify({ vulnerabilityId: vuln, title: `title of ${vuln}`, description: "d" }),
  });
  const closed = (w: FindingWrite, reason: "fixed" | "deleted" | "ineligible"): FindingWrite => ({
    ...w,
    state: { ...w.state, status: "CLOSED", closedAt: clock, updatedAt: clock, closedReason: reason },
  });

  it("rolls up a day: snapshot totals, opened and fixed with their open time, per repository too", async () => {
    const a = await store.registry.ensureRepository("team/a");
    const b = await store.registry.ensureRepository("team/b");
    const wa = [write(a, "CVE-1"), write(a, "CVE-2", { severity: "CRITICAL" }), write(a, "CVE-3")];
    const wb = [write(b, "CVE-1"), write(b, "CVE-4", { severity: "LOW" })];
    await store.findings.put([...wa, ...wb]);
    await store.history.snapshot(D1);
    // Day 2: CVE-1 fixed in a (open 24 h), CVE-4 in b ineligible (not remediated), a new one in b.
    clock = T0 + DAY_MS + 3_600_000;
    await store.findings.put([closed(wa[0]!, "fixed"), closed(wb[1]!, "ineligible"), write(b, "CVE-5")]);
    expect(await store.console.rollUpDay(D1)).toBeGreaterThan(0);
    await store.console.rollUpDay(D2);
    // Again: replaces, never adds; read a row at a time (the pages of a big day), the same.
    await store.console.rollUpDay(D2);
    const whole = await store.console.daily(D1, D2);
    await store.console.rollUpDay(D1, undefined, 1);
    await store.console.rollUpDay(D2, undefined, 1);
    expect(await store.console.daily(D1, D2)).toEqual(whole);

    const all = await store.console.daily(D1, D2);
    expect(all.snapshotDays).toEqual([D1]);
    const pick = (day: string, sev: string) => all.rows.find((r) => r.day === day && r.severity === sev);
    expect(pick(D1, "HIGH")).toMatchObject({ snapshot: true, active: 3, suppressed: 0, opened: 3, fixed: 0 });
    expect(pick(D1, "CRITICAL")).toMatchObject({ active: 1, opened: 1 });
    expect(pick(D1, "LOW")).toMatchObject({ active: 1, opened: 1 });
    expect(pick(D2, "HIGH")).toMatchObject({ snapshot: false, opened: 1, fixed: 1, fixedMs: DAY_MS });
    // An ineligible close remediates nothing: no flow, no row.
    expect(pick(D2, "LOW")).toBeUndefined();

    // Now (the maintained counts): CVE-1 fixed in a, CVE-4 gone from b, CVE-5 new in b.
    expect(await store.console.openNow()).toEqual({ HIGH: 3, CRITICAL: 1 });
    expect(await store.console.openNow([b])).toEqual({ HIGH: 2 });
    expect(await store.console.openNow([])).toEqual({});

    const onlyB = await store.console.dailyFor([D1, D2], [b]);
    expect(onlyB.snapshotDays).toEqual([D1]);
    const bp = (day: string, sev: string) => onlyB.rows.find((r) => r.day === day && r.severity === sev);
    expect(bp(D1, "HIGH")).toMatchObject({ snapshot: true, active: 1, opened: 1 });
    expect(bp(D1, "LOW")).toMatchObject({ active: 1 });
    expect(bp(D1, "CRITICAL")).toBeUndefined();
    expect(bp(D2, "HIGH")).toMatchObject({ opened: 1, fixed: 0 });
    expect((await store.console.dailyFor([D1], [])).rows).toEqual([]);

    expect(await store.console.purgeDayBefore(D2)).toBeGreaterThan(0);
    expect((await store.console.daily(D1, D2)).rows.every((r) => r.day === D2)).toBe(true);
    expect(await store.console.purgeDayBefore(D2)).toBe(0);
  });

  it("counts ACTIVE findings per repository and vulnerability, sums them; top by images and by priority (KEV first)", async () => {
    const a = await store.registry.ensureRepository("a");
    const b = await store.registry.ensureRepository("b");
    await store.findings.put([
      // CVE-A: 3 images in 2 repositories, two packages in one image
      write(a, "CVE-A", { epssScore: 0.1 }, { image: "1" }),
      write(a, "CVE-A", { epssScore: 0.2 }, { image: "1", pkg: "libssl" }),
      write(a, "CVE-A", {}, { image: "2" }),
      write(b, "CVE-A", { severity: "CRITICAL" }, { image: "3" }),
      // CVE-B: KEV, one image, low EPSS
      write(b, "CVE-B", { exploitAvailable: true, epssScore: 0.01, severity: "MEDIUM" }, { image: "3" }),
      // CVE-C: high EPSS x CRITICAL, one image
      write(a, "CVE-C", { epssScore: 0.9, severity: "CRITICAL" }, { image: "2" }),
      // CVE-D: suppressed only, CVE-E: closed only: neither is open
      write(a, "CVE-D", { status: "SUPPRESSED" }),
      closed(write(a, "CVE-E"), "fixed"),
    ]);
    // Per (repository, vulnerability), a chunk of repositories at a time.
    expect(await store.console.repositoryIdsAfter(0, 1)).toEqual([a]);
    expect(await store.console.repositoryIdsAfter(a, 10)).toEqual([b]);
    const perRepo = await store.console.countRepositoryVulnerabilities([a, b]);
    const pick = (r: number, v: string) =>
      perRepo.find((x) => x.repositoryId === r && x.vulnerabilityId === v);
    expect(perRepo).toHaveLength(4);
    expect(pick(a, "CVE-A")).toMatchObject({
      images: 2,
      findings: 3,
      severityRank: 4,
      epssScore: 0.2,
      kev: false,
    });
    expect(pick(b, "CVE-B")).toMatchObject({ images: 1, findings: 1, severityRank: 3, kev: true });
    expect(await store.console.countRepositoryVulnerabilities([])).toEqual([]);
    // Summed per vulnerability: images add up (an image is in one repository).
    const acc = new Map();
    for (const x of perRepo) addStat(acc, x);
    const byId = new Map(finishStats(acc).map((x) => [x.vulnerabilityId, x]));
    expect(byId.get("CVE-A")).toMatchObject({
      images: 3,
      repositories: 2,
      findings: 4,
      severity: "CRITICAL",
      epssScore: 0.2,
    });
    expect(byId.get("CVE-C")).toMatchObject({ images: 1, severity: "CRITICAL", priority: 0.9 * 9.5 });
    expect([...byId.keys()].sort()).toEqual(["CVE-A", "CVE-B", "CVE-C"]);
    // Maintained per repository, read back for some repositories; stale pairs dropped.
    await store.console.putRepositoryVulnerabilities(perRepo, clock);
    await store.console.putRepositoryVulnerabilities(
      [{ ...perRepo[0]!, vulnerabilityId: "CVE-GONE" }],
      clock - 1,
    );
    expect(await store.console.dropRepositoryVulnerabilitiesBefore(clock, [b])).toBe(0);
    expect(await store.console.dropRepositoryVulnerabilitiesBefore(clock)).toBe(1);
    expect(
      (await store.console.vulnerabilitiesOf([b])).map((x) => [x.vulnerabilityId, x.images, x.repositories]),
    ).toEqual(
      expect.arrayContaining([
        ["CVE-A", 1, 1],
        ["CVE-B", 1, 1],
      ]),
    );
    expect(
      (await store.console.vulnerabilitiesOf([a, b])).find((x) => x.vulnerabilityId === "CVE-A"),
    ).toMatchObject({
      images: 3,
      repositories: 2,
      severity: "CRITICAL",
    });
    expect(await store.console.vulnerabilitiesOf([])).toEqual([]);
    const first = [byId.get("CVE-A")!, byId.get("CVE-B")!];
    const rest = [byId.get("CVE-C")!];

    const at = clock;
    await store.console.putVulnerabilities([...first, ...rest], at);
    // A stale row from an earlier refresh goes.
    await store.console.putVulnerabilities([{ ...first[0]!, vulnerabilityId: "CVE-OLD" }], at - 1);
    expect(await store.console.dropVulnerabilitiesBefore(at)).toBe(1);
    expect(await store.console.vulnerabilitiesRefreshedAt()).toBe(at);
    expect((await store.console.topVulnerabilities("images", 2)).map((s) => s.vulnerabilityId)).toEqual([
      "CVE-A",
      "CVE-B",
    ]);
    expect((await store.console.topVulnerabilities("priority", 3)).map((s) => s.vulnerabilityId)).toEqual([
      "CVE-B",
      "CVE-C",
      "CVE-A",
    ]);
    const page = await store.console.vulnerabilityPage({ order: "images", desc: true, limit: 2, offset: 0 });
    expect(page).toMatchObject({
      total: 3,
      items: [{ vulnerabilityId: "CVE-A" }, { vulnerabilityId: "CVE-B" }],
    });
    expect(
      (
        await store.console.vulnerabilityPage({ order: "priority", desc: true, limit: 5, offset: 1 })
      ).items.map((v) => v.vulnerabilityId),
    ).toEqual(["CVE-C", "CVE-A"]);
    expect(
      await store.console.vulnerabilityPage({
        order: "id",
        desc: false,
        prefix: "CVE-C",
        limit: 5,
        offset: 0,
      }),
    ).toMatchObject({ total: 1, items: [{ vulnerabilityId: "CVE-C" }] });
    expect(
      (await store.console.vulnerabilityPage({ order: "id", desc: true, limit: 5, offset: 0 })).items[0]!
        .vulnerabilityId,
    ).toBe("CVE-C");
    expect(await store.console.vulnerability("CVE-C")).toMatchObject({
      images: 1,
      kev: false,
      severity: "CRITICAL",
    });
    expect(await store.console.vulnerability("CVE-X")).toBeNull();
  });

  it("pages a vulnerability's open findings in index order, narrowed by status and repository", async () => {
    const a = await store.registry.ensureRepository("a");
    const b = await store.registry.ensureRepository("b");
    const writes: FindingWrite[] = [];
    for (let i = 0; i < 6; i++) {
      clock = T0 + i * 1000;
      writes.push(
        write(
          i % 2 ? b : a,
          "CVE-P",
          {
            severity: ["LOW", "HIGH", "CRITICAL"][i % 3]!,
            status: i === 5 ? "SUPPRESSED" : "ACTIVE",
          },
          { image: `img${i}` },
        ),
      );
    }
    writes.push(write(a, "CVE-Q", {}, { image: "img0" }));
    await store.findings.put(writes);
    const page = await store.console.affectedFindings({
      vulnerabilityId: "CVE-P",
      statuses: ["ACTIVE", "SUPPRESSED"],
      order: "lastObserved",
      desc: true,
      limit: 4,
      offset: 0,
    });
    expect(page.map((r) => r.lastObservedAt)).toEqual([5, 4, 3, 2].map((i) => T0 + i * 1000));
    expect(page[0]).toMatchObject({ repositoryName: "b", status: "SUPPRESSED", packageName: "openssl" });
    const next = await store.console.affectedFindings({
      vulnerabilityId: "CVE-P",
      statuses: ["ACTIVE", "SUPPRESSED"],
      order: "lastObserved",
      desc: true,
      limit: 4,
      offset: 4,
    });
    expect(next.map((r) => r.lastObservedAt)).toEqual([1, 0].map((i) => T0 + i * 1000));
    const bySeverity = await store.console.affectedFindings({
      vulnerabilityId: "CVE-P",
      statuses: ["ACTIVE"],
      repositoryIds: [a],
      order: "severity",
      desc: true,
      limit: 10,
      offset: 0,
    });
    expect(bySeverity.map((r) => r.severity)).toEqual(["CRITICAL", "HIGH", "LOW"]);
    expect(bySeverity.every((r) => r.repositoryName === "a")).toBe(true);
    expect(
      await store.console.countAffected({
        vulnerabilityId: "CVE-P",
        statuses: ["ACTIVE", "SUPPRESSED"],
        cap: 100,
      }),
    ).toEqual({ count: 6, capped: false });
    expect(
      await store.console.countAffected({ vulnerabilityId: "CVE-P", statuses: ["ACTIVE"], cap: 3 }),
    ).toEqual({
      count: 3,
      capped: true,
    });
    expect(
      await store.console.countAffected({
        vulnerabilityId: "CVE-P",
        statuses: ["ACTIVE"],
        repositoryIds: [],
        cap: 3,
      }),
    ).toEqual({ count: 0, capped: false });
    const text = await store.console.vulnerabilityText("CVE-P");
    expect(JSON.parse(text!.details)).toMatchObject({ title: "title of CVE-P" });
    expect(await store.console.vulnerabilityText("CVE-NONE")).toBeNull();
  });

  it.runIf(driver === "sqlite")(
    "reads a vulnerability's findings through the vulnerability indexes (EXPLAIN)",
    async () => {
      // The page query's shape, planned by SQLite on a migrated database: a search of an index on
      // findings(vulnerability_id, ...), and no temporary B-tree for the order.
      const dir = await mkdtemp(join(tmpdir(), "drydock-console-plan-"));
      const file = join(dir, "meta.sqlite");
      const s = await openSqliteMetaStore(file, () => clock);
      const raw = new SqliteDatabase(file, { readonly: true });
      try {
        const a = await s.registry.ensureRepository("a");
        await s.findings.put([write(a, "CVE-P")]);
        for (const order of [
          "f.last_observed_at desc, f.id asc",
          "f.last_observed_at asc, f.id desc",
          "(case f.severity when 'CRITICAL' then 5 when 'HIGH' then 4 when 'MEDIUM' then 3 when 'LOW' then 2 when 'INFORMATIONAL' then 1 when 'UNTRIAGED' then 0 else 6 end) desc, f.id asc",
        ]) {
          const plan = raw
            .prepare(
              `explain query plan select f.id from findings f join repositories r on r.id = f.repository_id
             where f.vulnerability_id = 'CVE-P' and f.status in ('ACTIVE', 'SUPPRESSED') and f.repository_id in (1, 2)
             order by ${order} limit 50 offset 50`,
            )
            .all() as { detail: string }[];
          const text = plan.map((r) => r.detail).join("\n");
          expect(text).toMatch(/USING INDEX findings_vulnerability_(observed|severity)/);
          expect(text).not.toMatch(/TEMP B-TREE/);
        }
      } finally {
        raw.close();
        await s.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("counts images by scan status, of all repositories or some", async () => {
    const a = await store.registry.ensureRepository("a");
    const b = await store.registry.ensureRepository("b");
    await store.scans.markStarted(a, sha256("1"), "ENHANCED", "IN_PROGRESS");
    await store.scans.markEnded(a, sha256("1"), "FAILED", "broken layer");
    await store.scans.markStarted(a, sha256("2"), "ENHANCED", "ACTIVE");
    await store.scans.markStarted(b, sha256("3"), "ENHANCED", "ACTIVE");
    const sorted = (xs: { status: string; count: number }[]) =>
      xs.map((x) => [x.status, x.count]).sort((p, q) => String(p[0]).localeCompare(String(q[0])));
    expect(sorted(await store.console.scanCounts())).toEqual([
      ["ACTIVE", 2],
      ["FAILED", 1],
    ]);
    expect(sorted(await store.console.scanCounts([b]))).toEqual([["ACTIVE", 1]]);
    expect(await store.console.scanCounts([])).toEqual([]);
  });

  it("keeps one report per period, also between two nodes racing; takes over a stale one; pages newest first", async () => {
    const other = await f.another();
    try {
      const mk = (id: string, period: string) => ({
        id,
        period,
        kind: "scheduled" as const,
        rangeFrom: T0 - DAY_MS,
        rangeTo: T0,
        createdBy: "drydock",
      });
      const [x, y] = await Promise.all([
        store.console.createReport(mk("r1", "daily:2025-03-03")),
        other.console.createReport(mk("r2", "daily:2025-03-03")),
      ]);
      expect([x, y].filter(Boolean)).toHaveLength(1);
      const winner = (await store.console.reportOfPeriod("daily:2025-03-03"))!;
      expect(winner.status).toBe("IN_PROGRESS");
      // Not stale yet, then stale: one of two takes it over.
      expect(await store.console.takeOverReport(winner.id, clock - 1)).toBe(false);
      clock += 10;
      const taken = await Promise.all([
        store.console.takeOverReport(winner.id, clock),
        other.console.takeOverReport(winner.id, clock),
      ]);
      expect(taken.filter(Boolean)).toHaveLength(1);
      expect(
        await store.console.finishReport(winner.id, {
          status: "SUCCEEDED",
          htmlKey: "k.html",
          csvKey: "k.csv",
          htmlBytes: 10,
          csvBytes: 5,
          summary: "{}",
        }),
      ).toBe(true);
      expect(await store.console.finishReport(winner.id, { status: "FAILED", error: "late" })).toBe(false);
      expect(await store.console.report(winner.id)).toMatchObject({
        status: "SUCCEEDED",
        htmlKey: "k.html",
        csvBytes: 5,
        completedAt: clock,
      });
      clock += 10;
      expect(await store.console.createReport({ ...mk("r3", "manual:r3"), kind: "manual" })).toBe(true);
      const page = await store.console.reports(1, 0);
      expect(page).toMatchObject({ total: 2, items: [{ id: "r3", kind: "manual" }] });
      expect((await store.console.reports(5, 1)).items.map((r) => r.id)).toEqual([winner.id]);
      expect(await store.console.report("nope")).toBeNull();
    } finally {
      await other.close();
    }
  });
});
