import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { MetaStore, NewReport, ReportKind } from "./store.js";

/**
 * ReportStore conformance on both dialects (SQLite in a temporary directory, PostgreSQL from the
 * test server): records, the one-findings-report-in-progress rule (also between two connections
 * racing, as two nodes would), and the IN_PROGRESS-only transitions that decide between a
 * worker's completion and a user's cancel.
 */

const report = (kind: ReportKind, over: Partial<NewReport> = {}): NewReport => {
  const id = randomUUID();
  return {
    id,
    kind,
    format: kind === "FINDINGS" ? "CSV" : "SPDX_2_3",
    criteria: JSON.stringify({ severity: [{ comparison: "EQUALS", value: "HIGH" }] }),
    bucket: "reports-bucket",
    keyPrefix: "team/a",
    kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000",
    location: `reports/reports-bucket/team/a/${id}.csv`,
    createdBy: "arn:aws:iam::123456789012:user/admin",
    ...over,
  };
};

describe.each(metaDrivers("ReportStore"))("ReportStore (%s)", (driver, open) => {
  let f: DriverFixture;
  let clock = 1_000;
  const others: MetaStore[] = [];
  beforeEach(async () => {
    clock = 1_000;
    f = await open(() => clock);
  });
  afterEach(async () => {
    for (const s of others.splice(0)) await s.close();
    await f.store.close();
    await f.cleanup();
  });

  it("keeps a record as given, IN_PROGRESS, and ends it once", async () => {
    const r = report("FINDINGS");
    expect(await f.store.reports.create(r)).toBe(true);
    expect(await f.store.reports.get(r.id)).toEqual({
      ...r,
      status: "IN_PROGRESS",
      errorCode: null,
      errorMessage: null,
      items: null,
      createdAt: 1_000,
      updatedAt: 1_000,
      completedAt: null,
    });
    clock = 2_500;
    expect(await f.store.reports.finish(r.id, { status: "SUCCEEDED", items: 42 })).toBe(true);
    // The loser of a completion/cancel race changes nothing.
    expect(await f.store.reports.finish(r.id, { status: "CANCELLED", errorMessage: "too late" })).toBe(false);
    expect(await f.store.reports.get(r.id)).toMatchObject({
      status: "SUCCEEDED",
      items: 42,
      errorCode: null,
      errorMessage: null,
      updatedAt: 2_500,
      completedAt: 2_500,
    });
    expect(await f.store.reports.finish(randomUUID(), { status: "FAILED" })).toBe(false);
    expect(await f.store.reports.get(randomUUID())).toBeNull();
  });

  it("allows one findings report in progress at a time, any number of SBOM exports", async () => {
    const first = report("FINDINGS");
    expect(await f.store.reports.create(first)).toBe(true);
    const second = report("FINDINGS");
    expect(await f.store.reports.create(second)).toBe(false);
    expect(await f.store.reports.get(second.id)).toBeNull();
    for (let i = 0; i < 3; i++) expect(await f.store.reports.create(report("SBOM"))).toBe(true);
    await f.store.reports.finish(first.id, {
      status: "FAILED",
      errorCode: "INTERNAL_ERROR",
      errorMessage: "disk full",
    });
    expect(await f.store.reports.get(first.id)).toMatchObject({
      status: "FAILED",
      errorCode: "INTERNAL_ERROR",
      errorMessage: "disk full",
    });
    expect(await f.store.reports.create(second)).toBe(true);
  });

  it("two connections racing for the findings slot: exactly one wins", async () => {
    const b = await f.another();
    others.push(b);
    // PostgreSQL: two transactions open at once, as two nodes. SQLite has one writer at a time
    // (a second connection's transaction would wait on this thread's): single statements race.
    const create = (s: MetaStore, r: NewReport) =>
      driver === "postgres" ? s.tx((tx) => tx.reports.create(r)) : s.reports.create(r);
    for (let round = 0; round < 5; round++) {
      const [x, y] = [report("FINDINGS"), report("FINDINGS")];
      const won = await Promise.all([create(f.store, x), create(b, y)]);
      expect(won.filter(Boolean)).toHaveLength(1);
      await f.store.reports.finish(won[0] ? x.id : y.id, { status: "CANCELLED" });
    }
  });

  it("a create in a transaction that rolls back leaves nothing (the record and its job go together)", async () => {
    const r = report("SBOM");
    await expect(
      f.store.tx(async (tx) => {
        await tx.reports.create(r);
        throw new Error("enqueue failed");
      }),
    ).rejects.toThrow(/enqueue failed/);
    expect(await f.store.reports.get(r.id)).toBeNull();
    expect(await f.store.reports.latest("SBOM")).toBeNull();
  });

  it("purges the records of reports that ended before a time, in batches, never one in progress", async () => {
    const ended = [report("FINDINGS"), report("SBOM"), report("SBOM")];
    for (const r of ended) {
      await f.store.reports.create(r);
      await f.store.reports.finish(r.id, { status: "SUCCEEDED", items: 1 });
    }
    clock = 2_000;
    const running = report("FINDINGS");
    await f.store.reports.create(running);
    clock = 3_000;
    const recent = report("SBOM");
    await f.store.reports.create(recent);
    await f.store.reports.finish(recent.id, { status: "FAILED" });
    expect(await f.store.reports.purgeFinished(2_500, 2)).toBe(2);
    expect(await f.store.reports.purgeFinished(2_500, 2)).toBe(1);
    expect(await f.store.reports.purgeFinished(2_500, 2)).toBe(0);
    for (const r of ended) expect(await f.store.reports.get(r.id)).toBeNull();
    expect((await f.store.reports.get(running.id))?.status).toBe("IN_PROGRESS");
    expect((await f.store.reports.get(recent.id))?.status).toBe("FAILED");
  });

  it("latest: the newest of a kind", async () => {
    expect(await f.store.reports.latest("FINDINGS")).toBeNull();
    const a = report("FINDINGS", { keyPrefix: null, criteria: null });
    await f.store.reports.create(a);
    await f.store.reports.finish(a.id, { status: "SUCCEEDED", items: 0 });
    clock = 5_000;
    const b = report("FINDINGS");
    await f.store.reports.create(b);
    clock = 6_000;
    await f.store.reports.create(report("SBOM"));
    expect((await f.store.reports.latest("FINDINGS"))?.id).toBe(b.id);
    expect(await f.store.reports.get(a.id)).toMatchObject({ keyPrefix: null, criteria: null, items: 0 });
  });
});
