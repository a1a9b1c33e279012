import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { StoredFindingRow } from "../storage/meta/store.js";
import { findingId } from "../storage/meta/finding-rows.js";
import { closeAll, identityOf, inspectorScore, reconcile, type ReconcileContext } from "./lifecycle.js";
import { testFinding } from "./testing.js";

const ctx = (now: number, over: Partial<ReconcileContext> = {}): ReconcileContext => ({
  repositoryId: 1,
  digest: "sha256:aa",
  scanType: "ENHANCED",
  now,
  severityOf: (f) => (f.severity === "UNDEFINED" ? "UNTRIAGED" : f.severity),
  ...over,
});

/** The stored rows a reconciliation leaves (what FindingStore.put would hold). */
function apply(rows: StoredFindingRow[], r: ReturnType<typeof reconcile>, now: number): StoredFindingRow[] {
  const byId = new Map(rows.map((x) => [x.id, x]));
  for (const id of r.observed) byId.set(id, { ...byId.get(id)!, lastObservedAt: now });
  for (const w of r.writes) {
    const id = findingId(w.identity);
    byId.set(id, { id, ...w.identity, ...w.state, document: w.document });
  }
  return [...byId.values()];
}

describe("finding lifecycle", () => {
  const openssl = testFinding();
  const zlib = testFinding({ vulnerabilityId: "CVE-2023-45853", package: { name: "zlib1g", version: "1" } });

  it("creates, observes, updates, closes and reopens under one id", () => {
    let rows: StoredFindingRow[] = [];
    const r1 = reconcile(rows, [openssl, zlib], ctx(100));
    expect(r1.changes.map((c) => c.kind)).toEqual(["created", "created"]);
    expect(r1.writes[0]!.state).toMatchObject({
      status: "ACTIVE",
      firstObservedAt: 100,
      lastObservedAt: 100,
      updatedAt: 100,
      closedAt: null,
      severity: "HIGH",
      inspectorScore: 7.4,
    });
    rows = apply(rows, r1, 100);
    const id = findingId(identityOf(openssl, ctx(0)));
    expect(rows.map((r) => r.id)).toContain(id);

    // found again unchanged: only observed
    const r2 = reconcile(rows, [openssl, zlib], ctx(200));
    expect(r2.writes).toEqual([]);
    expect(r2.changes).toEqual([]);
    expect(r2.observed.sort()).toEqual(rows.map((r) => r.id).sort());
    rows = apply(rows, r2, 200);

    // a fix appears: updated, same id, first observation kept
    const fixed = { ...openssl, fixedVersion: "3.0.9-1", epss: { score: 0.2, percentile: 0.9 } };
    const r3 = reconcile(rows, [fixed, zlib], ctx(300));
    expect(r3.changes.map((c) => [c.kind, c.id])).toEqual([["updated", id]]);
    expect(r3.writes[0]!.state).toMatchObject({
      firstObservedAt: 100,
      lastObservedAt: 300,
      updatedAt: 300,
      epssScore: 0.2,
    });
    rows = apply(rows, r3, 300);

    // withdrawn: closed
    const r4 = reconcile(rows, [zlib], ctx(400));
    expect(r4.changes.map((c) => [c.kind, c.id])).toEqual([["closed", id]]);
    expect(r4.writes[0]!.state).toMatchObject({
      status: "CLOSED",
      closedAt: 400,
      updatedAt: 400,
      lastObservedAt: 300,
    });
    rows = apply(rows, r4, 400);
    // closed stays closed (no second close)
    expect(reconcile(rows, [zlib], ctx(450)).changes).toEqual([]);

    // matched again: reopened, same id, first observation kept
    const r5 = reconcile(rows, [fixed, zlib], ctx(500));
    expect(r5.changes.map((c) => [c.kind, c.id])).toEqual([["reopened", id]]);
    expect(r5.writes[0]!.state).toMatchObject({ status: "ACTIVE", firstObservedAt: 100, closedAt: null });
  });

  it("suppression decides ACTIVE or SUPPRESSED, and a change of it is an update", () => {
    const r1 = reconcile([], [openssl], ctx(1, { suppressed: () => true }));
    expect(r1.writes[0]!.state.status).toBe("SUPPRESSED");
    const rows = apply([], r1, 1);
    const r2 = reconcile(rows, [openssl], ctx(2));
    expect(r2.changes.map((c) => c.kind)).toEqual(["updated"]);
    expect(r2.writes[0]!.state.status).toBe("ACTIVE");
  });

  it("the same vulnerability in two paths or two images is two findings", () => {
    const other = testFinding({ package: { path: "/usr/lib/other/status" } });
    const r = reconcile([], [openssl, other], ctx(1));
    expect(new Set(r.writes.map((w) => findingId(w.identity))).size).toBe(2);
    expect(findingId(identityOf(openssl, ctx(1)))).not.toBe(
      findingId(identityOf(openssl, ctx(1, { digest: "sha256:bb" }))),
    );
    const nested = testFinding({ package: { path: "/app/a.jar", archivePath: "b.jar" } });
    expect(identityOf(nested, ctx(1)).packagePath).toBe("/app/a.jar!b.jar");
  });

  it("closeAll closes every open finding once, with its reason", () => {
    const rows = apply([], reconcile([], [openssl, zlib], ctx(1)), 1);
    const r = closeAll(rows, 9, "ineligible");
    expect(r.changes.map((c) => c.kind)).toEqual(["closed", "closed"]);
    expect(r.writes.map((w) => [w.state.status, w.state.closedAt, w.state.closedReason])).toEqual([
      ["CLOSED", 9, "ineligible"],
      ["CLOSED", 9, "ineligible"],
    ]);
    expect(closeAll(apply(rows, r, 9), 10, "deleted").changes).toEqual([]);
  });

  it("a match that no longer finds a finding closes it as fixed; reopening clears the reason", () => {
    const rows = apply([], reconcile([], [openssl, zlib], ctx(1)), 1);
    const closed = reconcile(rows, [zlib], ctx(2));
    expect(closed.writes[0]!.state).toMatchObject({ status: "CLOSED", closedReason: "fixed" });
    const afterDelete = apply(rows, closeAll(rows, 3, "deleted"), 3);
    const r = reconcile(afterDelete, [openssl, zlib], ctx(4));
    expect(r.changes.map((c) => c.kind)).toEqual(["reopened", "reopened"]);
    expect(r.writes.map((w) => [w.state.status, w.state.closedAt, w.state.closedReason])).toEqual([
      ["ACTIVE", null, null],
      ["ACTIVE", null, null],
    ]);
  });

  it("findings read back from the store and found again unchanged are only observed; a changed one is updated", async () => {
    // The store gives a document back with its keys in another order than the matcher's: a
    // comparison of documents called every finding of every re-match "updated" (a new
    // updatedAt and an event each).
    const dir = await mkdtemp(join(tmpdir(), "drydock-lifecycle-"));
    const meta = await openSqliteMetaStore(join(dir, "meta.db"));
    try {
      const repositoryId = await meta.registry.ensureRepository("app");
      const c = (now: number) => ctx(now, { repositoryId });
      const epss = testFinding({ vulnerabilityId: "CVE-2024-0001", epss: { score: 0.5, percentile: 0.9 } });
      await meta.findings.put(reconcile([], [openssl, zlib, epss], c(100)).writes);
      const stored = await meta.findings.forImage(repositoryId, "sha256:aa", "ENHANCED");
      expect(stored.map((r) => r.document)).not.toContain(JSON.stringify(openssl)); // another key order
      const again = reconcile(stored, [openssl, zlib, epss], c(200));
      expect(again.changes).toEqual([]);
      expect(again.writes).toEqual([]);
      expect(again.observed).toHaveLength(3);
      const retitled = { ...zlib, title: "another title" };
      const changed = reconcile(
        stored,
        [openssl, retitled, { ...epss, epss: { score: 0.6, percentile: 0.9 } }],
        c(300),
      );
      expect(changed.changes.map((x) => [x.kind, x.identity.vulnerabilityId]).sort()).toEqual([
        ["updated", "CVE-2023-45853"],
        ["updated", "CVE-2024-0001"],
      ]);
      await meta.findings.put(changed.writes);
      const after = await meta.findings.forImage(repositoryId, "sha256:aa", "ENHANCED");
      expect(after.map((r) => JSON.parse(r.document) as unknown)).toEqual(
        expect.arrayContaining([retitled, openssl].map((f) => expect.objectContaining({ title: f.title }))),
      );
      expect(
        reconcile(after, [openssl, retitled, { ...epss, epss: { score: 0.6, percentile: 0.9 } }], c(400))
          .changes,
      ).toEqual([]);
    } finally {
      await meta.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("inspectorScore is the Inspector Finding's: NVD's CVSS v3, else the first v3, else v4, v2", () => {
    expect(
      inspectorScore(
        testFinding({
          cvss: [
            { type: "CVSS_V2", vector: "x", score: 9.3 },
            { type: "CVSS_V3", vector: "y", score: 5.5 },
            { type: "CVSS_V3", vector: "z", score: 6.1 },
          ],
        }),
      ),
    ).toBe(5.5);
    expect(
      inspectorScore(
        testFinding({
          cvss: [
            { type: "CVSS_V3", vector: "y", score: 5.5, source: "ghsa" },
            { type: "CVSS_V3", vector: "z", score: 6.1, source: "nvd" },
          ],
        }),
      ),
    ).toBe(6.1);
    expect(inspectorScore(testFinding({ cvss: [{ type: "CVSS_V2", vector: "x", score: 9.3 }] }))).toBe(9.3);
    expect(inspectorScore(testFinding({ cvss: [] }))).toBeNull();
  });
});
