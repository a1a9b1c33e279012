import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../core/digest.js";
import type { ImageInventory } from "../image/types.js";
import { forgetImage, recordScan } from "../scan/results.js";
import { DAY_MS, utcDay } from "../storage/meta/history-store.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { Finding } from "./finding.js";
import { closeAll } from "./lifecycle.js";
import { closedRetentionMs, runRetention, SEGMENT_GRACE_MS, type RetentionPolicy } from "./retention.js";
import { testFinding } from "./testing.js";

/**
 * Closed-finding retention and the history's upkeep (retention.ts) over a real SQLite store
 * with an injected clock, through the scan pipeline's own writers (scan/results.ts recordScan
 * and forgetImage, lifecycle.ts closeAll), as the server runs them.
 */

const T0 = Date.parse("2025-06-02T10:00:00Z");
const HOUR = 3_600_000;
const POLICY: RetentionPolicy = { closedRetentionDays: 30, historyDays: 400 };

let clock: number;
let dir: string;
let meta: MetaStore;
let repo: number;

beforeEach(async () => {
  clock = T0;
  dir = await mkdtemp(join(tmpdir(), "drydock-retention-"));
  meta = await openSqliteMetaStore(join(dir, "meta.db"), () => clock);
  repo = await meta.registry.ensureRepository("team/app");
});
afterEach(async () => {
  await meta.close();
  await rm(dir, { recursive: true, force: true });
});

const inventory = (digest: string): ImageInventory => ({
  image: {
    reference: `team/app@${digest}`,
    manifestDigest: digest,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    configDigest: sha256("config"),
    platform: { os: "linux", architecture: "amd64" },
    layers: [],
  },
  distro: null,
  packages: [],
  problems: [],
});
const scan = (digest: string, findings: Finding[]) =>
  meta.tx((tx) =>
    recordScan(tx, {
      repositoryId: repo,
      digest,
      scanType: "ENHANCED",
      inventory: inventory(digest),
      findings,
      now: clock,
    }),
  );
const rows = (digest: string) => meta.findings.forImage(repo, digest, "ENHANCED");
const run = (policy = POLICY) => runRetention(meta, policy, { now: () => clock, batch: 2 });
const cve = (n: number) => testFinding({ vulnerabilityId: `CVE-2025-${n}` });

describe("closed-finding retention", () => {
  it("keeps findings of deleted and ineligible images 3 days, the others 30; open ones always", async () => {
    const [kept, gone, expired] = [sha256("kept"), sha256("gone"), sha256("expired")];
    await scan(kept, [cve(1), cve(2), cve(3)]);
    await scan(gone, [cve(4), cve(5)]);
    await scan(expired, [cve(6)]);
    // CVE-2025-1 and -2 no longer match (withdrawn): fixed; the image `gone` is deleted; the
    // image `expired` leaves the rescan window (what scan/window.ts does)
    await scan(kept, [cve(3)]);
    await meta.tx((tx) => forgetImage(tx, repo, gone, clock));
    await meta.tx(async (tx) => {
      await tx.findings.put(
        closeAll(await tx.findings.forImage(repo, expired, "ENHANCED"), clock, "ineligible").writes,
      );
    });
    expect((await rows(kept)).map((r) => [r.vulnerabilityId, r.status, r.closedReason])).toEqual(
      expect.arrayContaining([
        ["CVE-2025-1", "CLOSED", "fixed"],
        ["CVE-2025-2", "CLOSED", "fixed"],
        ["CVE-2025-3", "ACTIVE", null],
      ]),
    );
    expect((await rows(gone)).map((r) => r.closedReason)).toEqual(["deleted", "deleted"]);
    expect((await rows(expired)).map((r) => r.closedReason)).toEqual(["ineligible"]);

    clock = T0 + 3 * DAY_MS - 1;
    expect((await run()).findings).toBe(0);
    clock = T0 + 3 * DAY_MS + 1;
    expect((await run()).findings).toBe(3);
    expect(await rows(gone)).toEqual([]);
    expect(await rows(expired)).toEqual([]);
    expect(await rows(kept)).toHaveLength(3);
    clock = T0 + 30 * DAY_MS - 1;
    expect((await run()).findings).toBe(0);
    clock = T0 + 30 * DAY_MS + 1;
    expect((await run()).findings).toBe(2);
    expect((await rows(kept)).map((r) => r.vulnerabilityId)).toEqual(["CVE-2025-3"]);
    clock = T0 + 1000 * DAY_MS;
    expect((await run()).findings).toBe(0);
    expect(await rows(kept)).toHaveLength(1);
  });

  it("findings.closedRetentionDays changes the 30 days and caps the 3", async () => {
    expect(closedRetentionMs({ closedRetentionDays: 30, historyDays: 1 })).toEqual({
      fixed: 30 * DAY_MS,
      deleted: 3 * DAY_MS,
      ineligible: 3 * DAY_MS,
    });
    expect(closedRetentionMs({ closedRetentionDays: 90, historyDays: 1 })).toMatchObject({
      fixed: 90 * DAY_MS,
      deleted: 3 * DAY_MS,
    });
    const policy = { closedRetentionDays: 1, historyDays: 400 };
    const [a, b] = [sha256("a"), sha256("b")];
    await scan(a, [cve(1), cve(2)]);
    await scan(b, [cve(3)]);
    await scan(a, [cve(2)]);
    await meta.tx((tx) => forgetImage(tx, repo, b, clock));
    clock = T0 + DAY_MS - 1;
    expect((await run(policy)).findings).toBe(0);
    clock = T0 + DAY_MS + 1;
    expect((await run(policy)).findings).toBe(2);
    // 0: purged at the next run
    await scan(a, []);
    expect((await run({ closedRetentionDays: 0, historyDays: 400 })).findings).toBe(0); // closed this ms
    clock += 1;
    expect((await run({ closedRetentionDays: 0, historyDays: 400 })).findings).toBe(1);
  });

  it("a closed finding matched again while kept is ACTIVE again under the same ARN; after its purge it is new", async () => {
    const d = sha256("img");
    await scan(d, [cve(1)]);
    const [first] = await rows(d);
    // the image is deleted, then the same digest pushed and scanned again within the 3 days
    clock += HOUR;
    await meta.tx((tx) => forgetImage(tx, repo, d, clock));
    clock += DAY_MS;
    const changes = await scan(d, [cve(1)]);
    expect(changes.map((c) => c.kind)).toEqual(["reopened"]);
    const [again] = await rows(d);
    expect(again).toMatchObject({
      id: first!.id,
      status: "ACTIVE",
      firstObservedAt: T0,
      lastObservedAt: clock,
      closedAt: null,
      closedReason: null,
    });
    // a match that no longer finds it closes it as fixed; retention then purges it after 30 days
    clock += HOUR;
    await scan(d, []);
    const closedAt = clock;
    clock += 30 * DAY_MS + 1;
    expect((await run()).findings).toBe(1);
    expect(await rows(d)).toEqual([]);
    // found again after the purge: a new finding with the same id (and ARN), first observed now
    const later = await scan(d, [cve(1)]);
    expect(later.map((c) => c.kind)).toEqual(["created"]);
    expect((await rows(d))[0]).toMatchObject({ id: first!.id, firstObservedAt: clock });
    // the history kept every period
    expect(
      (await meta.history.intervals(first!.id)).map((i) => [i.openedAt, i.closedAt, i.closedReason]),
    ).toEqual([
      [T0, T0 + HOUR, "deleted"],
      [T0 + HOUR + DAY_MS, closedAt, "fixed"],
      [clock, null, null],
    ]);
  });
});

describe("the daily pass", () => {
  it("snapshots once per UTC day, before the purges", async () => {
    const d = sha256("img");
    await scan(d, [cve(1), cve(2), testFinding({ vulnerabilityId: "CVE-2025-3", severity: "CRITICAL" })]);
    expect((await run()).snapshot).toBe(utcDay(T0));
    expect((await run()).snapshot).toBeNull(); // the same day: not again
    clock += HOUR;
    await scan(d, [cve(1)]); // two close (fixed)
    expect((await run()).snapshot).toBeNull();
    expect(await meta.history.countsPerDay({ from: utcDay(T0), to: utcDay(T0) })).toEqual([
      { day: utcDay(T0), severity: "CRITICAL", count: 1 },
      { day: utcDay(T0), severity: "HIGH", count: 2 },
    ]);
    // the next day: a new snapshot, which still counts yesterday's closed findings as CLOSED
    clock = T0 + DAY_MS;
    expect((await run()).snapshot).toBe(utcDay(clock));
    expect(
      await meta.history.countsPerDay({
        from: utcDay(clock),
        to: utcDay(clock),
        statuses: ["ACTIVE", "CLOSED"],
      }),
    ).toEqual([
      { day: utcDay(clock), severity: "CRITICAL", count: 1 },
      { day: utcDay(clock), severity: "HIGH", count: 2 },
    ]);
  });

  it("purges the texts only purged findings had, and the history after historyDays; open intervals stay", async () => {
    const policy = { closedRetentionDays: 5, historyDays: 10 };
    const go = (at: number) => {
      clock = at;
      return runRetention(meta, policy, { now: () => clock, batch: 1 });
    };
    const d = sha256("img");
    const own = (n: number) => testFinding({ vulnerabilityId: `CVE-2025-${n}`, title: `text ${n}` });
    await scan(d, [own(1), own(2), own(3)]);
    expect(await go(T0)).toMatchObject({ snapshot: utcDay(T0), findings: 0, details: 0 });
    clock = T0 + HOUR;
    await scan(d, [own(1)]);
    // 5 days after their close, the two findings go, and their texts (no other finding has them)
    expect(await go(T0 + 5 * DAY_MS + 2 * HOUR)).toMatchObject({
      findings: 2,
      details: 2,
      intervals: 0,
      snapshots: 0,
    });
    expect(JSON.parse((await rows(d))[0]!.document).title).toBe("text 1");
    // 10 days after their close, their intervals go; the first day's snapshot a day later
    expect(await go(T0 + 10 * DAY_MS + 2 * HOUR)).toMatchObject({ intervals: 2, snapshots: 0 });
    expect(await go(T0 + 11 * DAY_MS + 2 * HOUR)).toMatchObject({ intervals: 0, snapshots: 1 }); // one row: 3 HIGH ACTIVE
    expect(await meta.history.hasSnapshot(utcDay(T0))).toBe(false);
    expect(await meta.history.hasSnapshot(utcDay(T0 + 5 * DAY_MS))).toBe(true);
    const [open] = await rows(d);
    expect(await meta.history.intervals(open!.id)).toMatchObject([{ openedAt: T0, closedAt: null }]);
  });

  it("purges inventory segments unused for the grace period, in batches", async () => {
    const seg = (n: string) => ({ distroKey: null, packages: [`{"name":"${n}"}`], keys: [`npm ${n}`] });
    for (const n of ["a", "b", "c"])
      await meta.inventories.putImage(repo, sha256(n), null, [seg(n), seg("shared")]);
    for (const n of ["a", "b"]) await meta.inventories.forgetImage(repo, sha256(n));
    expect((await run()).segments).toBe(0); // unused only just now
    clock += SEGMENT_GRACE_MS + 1;
    expect((await run()).segments).toBe(0); // the daily pass ran already today
    clock = T0 + DAY_MS;
    expect((await run()).segments).toBe(2); // a and b; "shared" is c's
    expect(await meta.inventories.segmentsWithKeys(["npm a", "npm b", "npm c", "npm shared"])).toHaveLength(
      2,
    );
  });

  it("purges the records of reports finished more than 30 days ago, on the daily pass", async () => {
    const report = (id: string) => ({
      id,
      kind: "SBOM" as const,
      format: "CYCLONEDX_1_4",
      criteria: null,
      bucket: "b",
      keyPrefix: null,
      kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000",
      location: `reports/b/${id}/`,
      createdBy: "arn:aws:iam::123456789012:root",
    });
    await meta.reports.create(report("old"));
    await meta.reports.finish("old", { status: "SUCCEEDED", items: 1 });
    expect((await run()).reports).toBe(0);
    clock = T0 + 29 * DAY_MS;
    await meta.reports.create(report("new"));
    await meta.reports.finish("new", { status: "SUCCEEDED", items: 1 });
    expect((await run()).reports).toBe(0);
    clock = T0 + 31 * DAY_MS;
    expect((await run()).reports).toBe(1);
    expect(await meta.reports.get("old")).toBeNull();
    expect(await meta.reports.get("new")).not.toBeNull();
  });
});
