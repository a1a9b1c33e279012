import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../core/digest.js";
import { metaDrivers, type DriverFixture } from "../storage/meta/drivers-testing.js";
import { DAY_MS, utcDay } from "../storage/meta/history-store.js";
import type { FindingWrite } from "../storage/meta/store.js";
import { FIRST_ROLLUP_DAYS, runConsoleRollup } from "./rollup.js";

/**
 * The console rollup's bookkeeping on both drivers: a first run sums the history back to its
 * horizon, later runs only the days since (today again each time), days past findings.historyDays
 * go, and the per-vulnerability rows follow the open findings (counted in chunks).
 */
describe.each(metaDrivers("console rollup"))("console rollup (%s)", (_driver, open) => {
  let f: DriverFixture;
  const T0 = Date.parse("2026-05-04T10:00:00Z");
  let clock = T0;
  beforeEach(async () => {
    clock = T0;
    f = await open(() => clock);
  });
  afterEach(async () => {
    await f.store.close();
    await f.cleanup();
  });
  const write = (repositoryId: number, vuln: string, image: string, closed = false): FindingWrite => ({
    identity: {
      repositoryId,
      digest: sha256(image),
      scanType: "ENHANCED",
      vulnerabilityId: vuln,
      packageName: "p",
      packagePath: "/x",
    },
    state: {
      status: closed ? "CLOSED" : "ACTIVE",
      severity: "HIGH",
      fixAvailable: "NO",
      inspectorScore: null,
      epssScore: null,
      exploitAvailable: false,
      firstObservedAt: clock,
      lastObservedAt: clock,
      updatedAt: clock,
      closedAt: closed ? clock : null,
      ...(closed ? { closedReason: "fixed" as const } : {}),
    },
    document: JSON.stringify({ vulnerabilityId: vuln }),
  });

  it("starts a first run where the history starts, at most a year back", async () => {
    const meta = f.store;
    expect((await runConsoleRollup(meta, { historyDays: 400, now: () => clock })).days).toEqual([utcDay(T0)]);
    await f.store.close();
    await f.cleanup();
    f = await open(() => clock);
    const repo = await f.store.registry.ensureRepository("a");
    clock = T0 - 3 * DAY_MS;
    await f.store.findings.put([write(repo, "CVE-1", "i1")]);
    clock = T0;
    expect((await runConsoleRollup(f.store, { historyDays: 400, now: () => clock })).days).toEqual(
      [3, 2, 1, 0].map((d) => utcDay(T0 - d * DAY_MS)),
    );
    // An old history: a year of it.
    await f.store.close();
    await f.cleanup();
    f = await open(() => clock);
    const old = await f.store.registry.ensureRepository("old");
    clock = Date.parse("2020-01-01T10:00:00Z");
    await f.store.findings.put([write(old, "CVE-1", "i1")]);
    clock = T0;
    expect((await runConsoleRollup(f.store, { historyDays: 2000, now: () => clock })).days).toHaveLength(
      FIRST_ROLLUP_DAYS + 1,
    );
  });

  it("rolls up each ended day once, today on every run, and purges beyond the history", async () => {
    const meta = f.store;
    const repo = await meta.registry.ensureRepository("a");
    await meta.findings.put([
      write(repo, "CVE-1", "i1"),
      write(repo, "CVE-2", "i1"),
      write(repo, "CVE-2", "i2"),
    ]);
    // The history begins today: the first run has nothing older to sum.
    const first = await runConsoleRollup(meta, { historyDays: 400, now: () => clock, chunk: 1 });
    expect(first.days).toEqual([utcDay(T0)]);
    expect(first.days.at(-1)).toBe(utcDay(T0));
    expect(first.vulnerabilities).toBe(2);
    expect(first.repositories).toBe(1);
    expect(
      (await meta.console.topVulnerabilities("images", 5)).map((v) => [v.vulnerabilityId, v.images]),
    ).toEqual([
      ["CVE-2", 2],
      ["CVE-1", 1],
    ]);
    expect((await meta.console.daily(utcDay(T0), utcDay(T0))).rows).toMatchObject([
      { severity: "HIGH", opened: 3 },
    ]);

    // Later the same day: only today again. Two days later: the day between, and today.
    expect((await runConsoleRollup(meta, { historyDays: 400, now: () => clock })).days).toEqual([utcDay(T0)]);
    clock = T0 + 2 * DAY_MS;
    await meta.findings.put([write(repo, "CVE-1", "i1", true)]);
    const later = await runConsoleRollup(meta, { historyDays: 400, now: () => clock });
    expect(later.days).toEqual([utcDay(T0), utcDay(T0 + DAY_MS), utcDay(clock)]);
    // CVE-1 is no longer open: its repository's row and its own row go.
    expect(later.dropped).toBe(2);
    expect((await meta.console.topVulnerabilities("images", 5)).map((v) => v.vulnerabilityId)).toEqual([
      "CVE-2",
    ]);
    expect((await meta.console.daily(utcDay(clock), utcDay(clock))).rows).toMatchObject([
      { fixed: 1, fixedMs: 2 * DAY_MS },
    ]);

    // A shorter history: the days before it go.
    const purged = await runConsoleRollup(meta, { historyDays: 1, now: () => clock });
    expect(purged.purged).toBeGreaterThan(0);
    expect(
      (await meta.console.daily("2000-01-01", utcDay(clock))).rows.every(
        (r) => r.day >= utcDay(clock - DAY_MS),
      ),
    ).toBe(true);
  });
});
