import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runConsoleRollup } from "../../console/rollup.js";
import { consoleTestDatabase } from "../../console/testing.js";
import { debianImage, pushImage } from "../../scan/testing.js";
import type { VulnDbProvider } from "../../scan/vulndb-provider.js";
import { metaDrivers } from "../../storage/meta/drivers-testing.js";
import { DAY_MS, utcDay } from "../../storage/meta/history-store.js";
import type { FindingWrite, StoredFindingRow } from "../../storage/meta/store.js";
import type { DashboardView } from "./contract/dashboard.js";
import {
  openConsoleWorld,
  type ConsoleWorld,
  type TestSession,
  ADMIN_USER,
  TEAM_DEV_USER,
} from "./testing.js";

/**
 * GET /api/console/dashboard over real stores (SQLite and PostgreSQL) with real scans and a
 * history written as it happens: on day 0 team/app and other/secret are scanned (base-files
 * 12.4) and carry a KEV critical, a high with a high EPSS, and a critical respectively; the day's
 * snapshot is taken; on day 1 the high is fixed and the next snapshot taken; on day 2 the
 * rollup runs. `dev` may pull team/** only, and sees team/app's figures alone.
 */
describe.each(metaDrivers("console dashboard API"))("console dashboard API (%s)", (_driver, open) => {
  let w: ConsoleWorld;
  let db: { provider: VulnDbProvider; dir: string };
  let dev: TestSession;
  let T0: number;
  let kevFinding: FindingWrite;
  const get = async (path: string, as?: TestSession) => {
    const r = await w.call("GET", path, { as });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as DashboardView;
  };
  const derived = (base: StoredFindingRow, vuln: string, over: Partial<StoredFindingRow>): FindingWrite => ({
    identity: { ...base, vulnerabilityId: vuln },
    state: {
      ...base,
      status: "ACTIVE",
      firstObservedAt: w.clock.now,
      lastObservedAt: w.clock.now,
      updatedAt: w.clock.now,
      ...over,
    },
    document: JSON.stringify({ ...JSON.parse(base.document), vulnerabilityId: vuln }),
  });

  beforeAll(async () => {
    w = await openConsoleWorld({
      open,
      users: [ADMIN_USER, TEAM_DEV_USER],
    });
    db = await consoleTestDatabase();
    w.deps.vulndb = db.provider;
    dev = await w.signIn("dev");
    T0 = w.clock.now;
    const app = await pushImage(w.registry, "team/app", debianImage("12.4"));
    await w.scanned("team/app", app);
    const secret = await pushImage(w.registry, "other/secret", debianImage("12.4"));
    await w.scanned("other/secret", secret);
    const appId = (await w.meta.registry.repositoryId("team/app"))!;
    const secretId = (await w.meta.registry.repositoryId("other/secret"))!;
    const [a] = await w.meta.findings.forImage(appId, app, "ENHANCED");
    const [s] = await w.meta.findings.forImage(secretId, secret, "ENHANCED");
    w.clock.now = T0 + 3_600_000;
    kevFinding = derived(a!, "CVE-K", { severity: "CRITICAL", exploitAvailable: true, epssScore: 0.01 });
    const high = derived(a!, "CVE-E", { severity: "HIGH", epssScore: 0.9 });
    await w.meta.findings.put([
      kevFinding,
      high,
      derived(s!, "CVE-S", { severity: "CRITICAL", epssScore: 0.5 }),
    ]);
    await w.meta.history.snapshot(utcDay(w.clock.now));
    // Day 1: the high is fixed, a day after it opened.
    w.clock.now = T0 + DAY_MS + 3_600_000;
    await w.meta.findings.put([
      {
        ...high,
        state: {
          ...high.state,
          status: "CLOSED",
          closedAt: w.clock.now,
          updatedAt: w.clock.now,
          closedReason: "fixed",
        },
      },
    ]);
    await w.meta.history.snapshot(utcDay(w.clock.now));
    w.clock.now = T0 + 2 * DAY_MS + 3_600_000;
    await runConsoleRollup(w.meta, { historyDays: 400, now: () => w.clock.now });
  });
  afterAll(async () => {
    db?.provider.close();
    await w?.close();
    if (db) await rm(db.dir, { recursive: true, force: true });
  });

  it("shows the account's trends, flows, time to remediate, coverage, top, priority and database", async () => {
    const d = await get("/dashboard?days=7");
    expect(d).toMatchObject({ days: 7, scope: "account" });
    expect(d.open.map((p) => p.day)).toEqual([utcDay(T0), utcDay(T0 + DAY_MS)]);
    expect(d.open[0]).toMatchObject({ CRITICAL: 2, HIGH: 1 });
    expect(d.open[1]).toMatchObject({ CRITICAL: 2, HIGH: 0 });
    expect(d.openNow).toMatchObject({ CRITICAL: 2, HIGH: 0 });
    // The scans' four findings, the three written: all opened on day 0; one fixed on day 1.
    const opened = d.weekly.reduce((a, x) => a + x.opened, 0);
    expect(opened).toBe(7);
    expect(d.weekly.reduce((a, x) => a + x.fixed, 0)).toBe(1);
    expect(d.weekly.every((x) => /^\d{4}-\d\d-\d\d$/.test(x.week))).toBe(true);
    expect(d.remediation.find((m) => m.severity === "HIGH")).toEqual({
      severity: "HIGH",
      fixed: 1,
      meanMs: DAY_MS,
    });
    expect(d.remediation.find((m) => m.severity === "CRITICAL")).toEqual({
      severity: "CRITICAL",
      fixed: 0,
      meanMs: null,
    });
    expect(d.coverage).toMatchObject({ scanned: 2, failed: 0, unsupported: 0, expired: 0, total: 2 });
    expect(d.topVulnerabilities.slice(0, 2).map((v) => [v.id, v.images])).toEqual([
      ["CVE-2099-0001", 2],
      ["CVE-2099-0002", 2],
    ]);
    // KEV first; then EPSS x severity: CVE-S (0.5 x critical) before CVE-E was fixed anyway.
    expect(d.priority.map((v) => v.id).slice(0, 2)).toEqual(["CVE-K", "CVE-S"]);
    expect(d.priority.find((v) => v.id === "CVE-E")).toBeUndefined();
    expect(d.database).toMatchObject({ status: "ready", builtAt: expect.any(String), stale: false });
    expect(d.database.feeds.map((f) => f.id).sort()).toEqual([
      "epss:test",
      "kev:test",
      "nvd:test",
      "osv:test",
    ]);
  });

  it("shows a restricted user the figures of the repositories they may pull only", async () => {
    const d = await get("/dashboard?days=7", dev);
    expect(d.scope).toBe("repositories");
    expect(d.open.map((p) => p.day)).toEqual([utcDay(T0), utcDay(T0 + DAY_MS)]);
    expect(d.open[0]).toMatchObject({ CRITICAL: 1, HIGH: 1 });
    expect(d.open[1]).toMatchObject({ CRITICAL: 1, HIGH: 0 });
    expect(d.weekly.reduce((a, x) => a + x.opened, 0)).toBe(4);
    expect(d.remediation.find((m) => m.severity === "HIGH")).toMatchObject({ fixed: 1 });
    expect(d.coverage.total).toBe(1);
    expect(d.topVulnerabilities.map((v) => v.images)).toEqual([1, 1, 1]);
    expect(d.priority.map((v) => v.id)).not.toContain("CVE-S");
    expect(d.priority[0]!.id).toBe("CVE-K");
  });

  it("caches an answer for 60 s per caller and range", async () => {
    const before = await get("/dashboard?days=14");
    expect(before.priority[0]!.id).toBe("CVE-K");
    await w.meta.findings.put([
      {
        ...kevFinding,
        state: {
          ...kevFinding.state,
          status: "CLOSED",
          closedAt: w.clock.now,
          updatedAt: w.clock.now,
          closedReason: "fixed",
        },
      },
    ]);
    await runConsoleRollup(w.meta, { historyDays: 400, now: () => w.clock.now });
    w.clock.now += 30_000;
    expect((await get("/dashboard?days=14")).priority[0]!.id).toBe("CVE-K");
    w.clock.now += 31_000;
    const after = await get("/dashboard?days=14");
    expect(after.priority.map((v) => v.id)).not.toContain("CVE-K");
    expect(after.generatedAt).toBe(w.clock.now);
  });

  it("answers 400 for a range out of bounds or not an integer", async () => {
    for (const q of ["days=6", "days=366", "days=abc", "days=7.5", "days="]) {
      const r = await w.call("GET", `/dashboard?${q}`);
      if (q === "days=") {
        expect(r.statusCode).toBe(200);
        continue;
      }
      expect(r.statusCode, `${q}: ${r.body}`).toBe(400);
      expect((r.json() as { error: { message: string } }).error.message).toMatch(/^days:/);
    }
  });
});
