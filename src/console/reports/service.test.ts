import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { silentLogger } from "../../core/logger.js";
import { EventBusService } from "../../events/bus-service.js";
import { readEvents } from "../../events/log.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { metaDrivers, type DriverFixture } from "../../storage/meta/drivers-testing.js";
import { DAY_MS, utcDay } from "../../storage/meta/history-store.js";
import type { FindingWrite, MetaStore } from "../../storage/meta/store.js";
import { runConsoleRollup } from "../rollup.js";
import { duePeriod } from "./period.js";
import { ConsoleReports, reportFolder, STALE_MS } from "./service.js";

/**
 * The console's reports on both drivers: a scheduled daily report written once per period by
 * two nodes racing (each its own MetaStore on the one database, and one blob store), its three
 * objects in the blob store's report area, one `Drydock Report Ready` event naming them, and a
 * report whose writer stopped taken over and finished; the due periods of both schedules.
 */

const T0 = Date.parse("2026-03-02T00:00:00Z"); // a Monday

describe("duePeriod", () => {
  it("names the period and its range once the hour has come", () => {
    expect(duePeriod("off", 6, T0 + 7 * 3_600_000)).toBeNull();
    expect(duePeriod("daily", 6, T0 + 5 * 3_600_000)).toBeNull();
    expect(duePeriod("daily", 6, T0 + 6 * 3_600_000)).toEqual({
      period: "daily:2026-03-02",
      from: T0 - DAY_MS,
      to: T0,
    });
    expect(duePeriod("daily", 0, T0 + DAY_MS - 1)?.period).toBe("daily:2026-03-02");
    expect(duePeriod("weekly", 6, T0 + 3_600_000)).toBeNull();
    // Due from Monday 06:00 all week (a cluster down on Monday writes it on Tuesday).
    for (const at of [T0 + 6 * 3_600_000, T0 + 2 * DAY_MS, T0 + 7 * DAY_MS - 1])
      expect(duePeriod("weekly", 6, at)).toEqual({
        period: "weekly:2026-03-02",
        from: T0 - 7 * DAY_MS,
        to: T0,
      });
  });
});

describe.each(metaDrivers("console reports"))("console reports (%s)", (_driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  let other: MetaStore;
  let dir: string;
  let blobs: FsBlobStore;
  let clock = T0;
  const service = (meta: MetaStore, maxHtmlFindings = 500) =>
    new ConsoleReports(meta, blobs, {
      schedule: "daily",
      hourUtc: 6,
      maxHtmlFindings,
      aws: { accountId: "123456789012", region: "eu-west-1" },
      now: () => clock,
      maxAgeHours: 24,
      publicUrl: "https://registry.example.com/",
    });

  beforeEach(async () => {
    clock = T0 - DAY_MS + 3_600_000;
    f = await open(() => clock);
    store = f.store;
    other = await f.another();
    dir = await mkdtemp(join(tmpdir(), "drydock-console-reports-"));
    blobs = await FsBlobStore.open(dir);
    // Yesterday: three criticals (one KEV, one with a formula-like package name), a high.
    const repo = await store.registry.ensureRepository("team/app");
    const w = (
      vuln: string,
      severity: string,
      pkg = "openssl",
      over: Partial<FindingWrite["state"]> = {},
    ): FindingWrite => ({
      identity: {
        repositoryId: repo,
        digest: sha256("img"),
        scanType: "ENHANCED",
        vulnerabilityId: vuln,
        packageName: pkg,
        packagePath: "/var/lib/dpkg/status",
      },
      state: {
        status: "ACTIVE",
        severity,
        fixAvailable: "YES",
        inspectorScore: null,
        epssScore: 0.3,
        exploitAvailable: false,
        firstObservedAt: clock,
        lastObservedAt: clock,
        updatedAt: clock,
        closedAt: null,
        ...over,
      },
      document: JSON.stringify({
        vulnerabilityId: vuln,
        package: { name: pkg, version: "1.0" },
        fixedVersion: "1.1",
      }),
    });
    await store.findings.put([
      // Whichever two the HTML shows, one has markup in its name.
      w("CVE-1", "CRITICAL", "<script>a", { exploitAvailable: true }),
      w("CVE-2", "CRITICAL", "=cmd|<script>"),
      w("CVE-3", "CRITICAL", "<script>c"),
      w("CVE-4", "HIGH"),
    ]);
    await store.history.snapshot(utcDay(clock));
    clock = T0 + 7 * 3_600_000;
    await runConsoleRollup(store, { historyDays: 400, now: () => clock });
  });
  afterEach(async () => {
    await other.close();
    await store.close();
    await f.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the period's report once across two nodes: three objects and one event naming them, routed by a rule", async () => {
    // A rule as a user would write it, forwarding reports to another bus.
    const bus = new EventBusService(store, {
      identity: { accountId: "123456789012", region: "eu-west-1" },
      log: silentLogger(),
    });
    await bus.createEventBus({ name: "audit" });
    await bus.putRule({
      name: "reports",
      eventPattern: JSON.stringify({ source: ["drydock"], "detail-type": ["Drydock Report Ready"] }),
    });
    expect(
      await bus.putTargets("reports", undefined, [
        { Id: "to-audit", Arn: "arn:aws:events:eu-west-1:123456789012:event-bus/audit" },
      ]),
    ).toEqual([]);
    const [a, b] = await Promise.all([service(store, 2).runScheduled(), service(other, 2).runScheduled()]);
    const written = [...a, ...b];
    expect(written).toHaveLength(1);
    const r = written[0]!;
    expect(r).toMatchObject({
      period: "daily:2026-03-02",
      kind: "scheduled",
      status: "SUCCEEDED",
      rangeFrom: T0 - DAY_MS,
      rangeTo: T0,
    });
    // Again, on either node: nothing more this period.
    expect(await service(other).runScheduled()).toEqual([]);
    expect((await store.console.reports(10, 0)).total).toBe(1);

    const folder = reportFolder(r.id);
    expect(folder).toBe(`reports/drydock-console/${r.id}/`);
    const keys: string[] = [];
    for await (const o of blobs.listObjects(folder)) keys.push(o.key);
    expect(keys.sort()).toEqual([`${folder}criticals.csv`, `${folder}dashboard.csv`, `${folder}report.html`]);
    const csv = await text((await blobs.getObject(`${folder}criticals.csv`))!);
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toMatch(/^Repository,Image Digest,Vulnerability,Package,/);
    expect(lines).toHaveLength(4);
    expect(csv).toContain("'=cmd|<script>");
    expect(csv).not.toContain(",=cmd");
    const html = await text((await blobs.getObject(`${folder}report.html`))!);
    expect(html).toContain("Drydock daily report 2026-03-02");
    expect(html).toContain("&lt;script&gt;");
    expect(html).not.toContain("<script>");
    expect(html).toContain('href="https://registry.example.com/console/vulnerabilities/CVE-1"');
    expect(html).toContain("The first 2; the CSV lists them all.");
    const dash = await text((await blobs.getObject(`${folder}dashboard.csv`))!);
    expect(dash).toContain("open,2026-03-01,CRITICAL,3");

    const events = (await readEvents(store, 0)).filter(
      (e) => e.event["detail-type"] === "Drydock Report Ready",
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toMatchObject({
      source: "drydock",
      detail: {
        "report-id": r.id,
        period: "daily:2026-03-02",
        kind: "scheduled",
        "range-start": "2026-03-01T00:00:00Z",
        "range-end": "2026-03-02T00:00:00Z",
        summary: { criticals: 3, open: { CRITICAL: 3, HIGH: 1 }, opened: 4, fixed: 0 },
      },
    });
    const objects = (events[0]!.event.detail as { objects: { format: string; key: string; size: number }[] })
      .objects;
    expect(objects.map((o) => [o.format, o.key])).toEqual([
      ["html", `${folder}report.html`],
      ["csv", `${folder}criticals.csv`],
      ["dashboard-csv", `${folder}dashboard.csv`],
    ]);
    expect(objects.find((o) => o.format === "csv")!.size).toBe(Buffer.byteLength(csv));
    // Routed in the report's transaction: one delivery to the rule's target.
    expect(await store.deliveries.pending({ rule: "reports" })).toBe(1);
  });

  it("takes over a report whose writer stopped, on another node, and finishes it once", async () => {
    await store.console.createReport({
      id: "00000000-0000-4000-8000-000000000001",
      period: "manual:00000000-0000-4000-8000-000000000001",
      kind: "manual",
      rangeFrom: T0 - 7 * DAY_MS,
      rangeTo: T0,
      createdBy: "admin",
    });
    // The scheduled one is written; the manual one is not stale yet.
    expect((await service(other).runScheduled()).map((r) => r.kind)).toEqual(["scheduled"]);
    clock += STALE_MS + 1;
    const taken = await service(other).runScheduled();
    expect(taken.map((r) => [r.id, r.status])).toEqual([
      ["00000000-0000-4000-8000-000000000001", "SUCCEEDED"],
    ]);
    expect(await service(store).runScheduled()).toEqual([]);
    const events = (await readEvents(store, 0)).filter(
      (e) => e.event["detail-type"] === "Drydock Report Ready",
    );
    expect(events.map((e) => (e.event.detail as { kind: string }).kind).sort()).toEqual([
      "manual",
      "scheduled",
    ]);
  });

  it("writes one on demand in the background, and serves its files", async () => {
    const s = service(store);
    const rec = await s.generateNow("admin");
    expect(rec).toMatchObject({ kind: "manual", status: "IN_PROGRESS", createdBy: "admin" });
    await s.idle();
    expect(await store.console.report(rec.id)).toMatchObject({ status: "SUCCEEDED" });
    const file = await s.open(rec.id, "csv");
    expect(file).toMatchObject({
      contentType: "text/csv; charset=utf-8",
      filename: `drydock-manual-${rec.id}-criticals.csv`,
    });
    expect((await text(file!.body)).split("\r\n")[0]).toMatch(/^Repository,/);
    expect(await s.open("00000000-0000-4000-8000-00000000dead", "html")).toBeNull();
  });
});
