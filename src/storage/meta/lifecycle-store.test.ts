import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { MetaStore } from "./store.js";
import { testManifest } from "./testing.js";

/**
 * LifecycleStore conformance on both dialects: policies (put, replace, delete, evaluation mark),
 * previews (one in progress at a time, also between two connections racing as two nodes would;
 * a stale one taken over; results written only by the current preview), result pages and
 * filters, the bulk read of a repository's images, and removal with the repository.
 */

const D = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

describe.each(metaDrivers("LifecycleStore"))("LifecycleStore (%s)", (driver, open) => {
  let f: DriverFixture;
  let clock = 1_000;
  const others: MetaStore[] = [];
  let repo: number;
  beforeEach(async () => {
    clock = 1_000;
    f = await open(() => clock);
    repo = await f.store.registry.ensureRepository("team/app");
  });
  afterEach(async () => {
    for (const s of others.splice(0)) await s.close();
    await f.store.close();
    await f.cleanup();
  });

  it("puts, replaces, marks and deletes a policy", async () => {
    const s = f.store.lifecycle;
    expect(await s.policy(repo)).toBeNull();
    await s.putPolicy(repo, "one");
    expect(await s.policy(repo)).toEqual({
      repositoryId: repo,
      policyText: "one",
      updatedAt: 1_000,
      lastEvaluatedAt: null,
    });
    clock = 2_000;
    expect(await s.markEvaluated(repo, "one", 1_500)).toBe(true);
    // A run that evaluated an older text does not mark the new one.
    await s.putPolicy(repo, "two");
    expect(await s.markEvaluated(repo, "one", 1_900)).toBe(false);
    expect(await s.policy(repo)).toEqual({
      repositoryId: repo,
      policyText: "two",
      updatedAt: 2_000,
      lastEvaluatedAt: 1_500,
    });
    const other = await f.store.registry.ensureRepository("team/other");
    await s.putPolicy(other, "three");
    await f.store.registry.ensureRepository("_drydock/internal").then((id) => s.putPolicy(id, "x"));
    const page = await s.policies(undefined, 1);
    expect(page.items.map((p) => [p.repository, p.policyText])).toEqual([["team/app", "two"]]);
    expect(page.more).toBe(true);
    expect((await s.policies("team/app", 10)).items.map((p) => p.repository)).toEqual(["team/other"]);
    expect((await s.deletePolicy(repo))?.policyText).toBe("two");
    expect(await s.deletePolicy(repo)).toBeNull();
    expect(await s.policy(repo)).toBeNull();
  });

  it("runs one preview at a time, takes over a stale one, and keeps results of the current one only", async () => {
    const s = f.store.lifecycle;
    expect(await s.preview(repo)).toBeNull();
    expect(await s.startPreview(repo, "t1", "policy-1", 0)).toBe(true);
    expect(await s.preview(repo)).toMatchObject({
      token: "t1",
      policyText: "policy-1",
      status: "IN_PROGRESS",
      error: null,
    });
    // In progress: refused, until it is stale.
    expect(await s.startPreview(repo, "t2", "policy-2", 500)).toBe(false);
    clock = 5_000;
    expect(await s.startPreview(repo, "t2", "policy-2", 2_000)).toBe(true);
    // The first preview's job ends late: nothing of it is written.
    expect(
      await s.finishPreview(repo, "t1", {
        results: [{ digest: D(1), tags: [], pushedAt: 1, rulePriority: 1 }],
      }),
    ).toBe(false);
    const results = Array.from({ length: 2_500 }, (_, i) => ({
      digest: D(i),
      tags: i % 2 ? [`v${i}`, `w${i}`] : [],
      pushedAt: i,
      rulePriority: i % 3 ? 1 : 2,
    }));
    expect(await s.finishPreview(repo, "t2", { results })).toBe(true);
    expect(await s.finishPreview(repo, "t2", { error: "again" })).toBe(false);
    expect(await s.preview(repo)).toMatchObject({ token: "t2", status: "COMPLETE", updatedAt: 5_000 });
    expect(await s.countPreviewResults(repo)).toBe(2_500);
    const first = await s.previewResults(repo, { limit: 2 });
    expect(first).toEqual({
      items: [
        { digest: D(0), tags: [], pushedAt: 0, rulePriority: 2 },
        { digest: D(1), tags: ["v1", "w1"], pushedAt: 1, rulePriority: 1 },
      ],
      more: true,
    });
    expect((await s.previewResults(repo, { after: D(2_497), limit: 5 })).items.map((r) => r.digest)).toEqual([
      D(2_498),
      D(2_499),
    ]);
    const tagged = await s.previewResults(repo, { limit: 3, tagStatus: "TAGGED" });
    expect(tagged.items.every((r) => r.tags.length === 2)).toBe(true);
    const untagged = await s.previewResults(repo, { limit: 3000, tagStatus: "UNTAGGED" });
    expect(untagged.items.length).toBe(1_250);
    expect(
      (await s.previewResults(repo, { limit: 10, digests: [D(7), D(9_999)] })).items.map((r) => r.digest),
    ).toEqual([D(7)]);
    expect((await s.previewResults(repo, { limit: 10, digests: [] })).items).toEqual([]);
    // A new preview clears the results; a failure is recorded.
    expect(await s.startPreview(repo, "t3", "policy-3", 0)).toBe(true);
    expect(await s.countPreviewResults(repo)).toBe(0);
    expect(await s.finishPreview(repo, "t3", { error: "boom" })).toBe(true);
    expect(await s.preview(repo)).toMatchObject({ status: "FAILED", error: "boom" });
  });

  it("lets one of two nodes racing start a preview", async () => {
    const b = await f.another();
    others.push(b);
    // PostgreSQL: two transactions at once, as two nodes. SQLite has one writer at a time (a
    // second connection of this thread would wait on the first's lock): one after the other.
    const start = (s: MetaStore, token: string) => s.lifecycle.startPreview(repo, token, "p", 0);
    const r =
      driver === "postgres"
        ? await Promise.all([start(f.store, "a"), start(b, "b")])
        : [await start(f.store, "a"), await start(b, "b")];
    expect(r.filter(Boolean)).toHaveLength(1);
  });

  it("reads every manifest with tags, subject, pull time and index children", async () => {
    const reg = f.store.registry;
    const blob = D(100);
    await reg.linkBlob(repo, blob, 10);
    const put = (digest: string, o: { tag?: string; subject?: string; children?: string[] } = {}) =>
      reg.putManifest({
        repositoryId: repo,
        digest,
        mediaType: o.children
          ? "application/vnd.oci.image.index.v1+json"
          : "application/vnd.oci.image.manifest.v1+json",
        artifactType: null,
        subject: o.subject ?? null,
        size: 100,
        annotations: null,
        references: o.children
          ? o.children.map((c) => ({ digest: c, kind: "manifest" as const }))
          : [{ digest: blob, kind: "blob" }],
        tag: o.tag,
      });
    clock = 10;
    await put(D(1), { tag: "b" });
    clock = 20;
    await put(D(2));
    await put(D(3), { tag: "idx", children: [D(1), D(2)] });
    await reg.putManifest(
      testManifest(repo, D(1), { references: [{ digest: blob, kind: "blob" }], tag: "a" }),
    );
    await put(D(4), { subject: D(1) });
    await reg.recordPull(repo, D(1), 77);
    const other = await reg.ensureRepository("team/other");
    await reg.linkBlob(other, blob, 10);
    await reg.putManifest({
      repositoryId: other,
      digest: D(9),
      mediaType: "x",
      artifactType: null,
      subject: null,
      size: 1,
      annotations: null,
      references: [],
      tag: "z",
    });
    const rows = (await f.store.lifecycle.images(repo)).sort((x, y) => (x.digest < y.digest ? -1 : 1));
    expect(rows).toEqual([
      { digest: D(1), tags: ["a", "b"], pushedAt: 10, lastPulledAt: 77, subject: null },
      { digest: D(2), tags: [], pushedAt: 20, lastPulledAt: null, subject: null },
      {
        digest: D(3),
        tags: ["idx"],
        pushedAt: 20,
        lastPulledAt: null,
        subject: null,
        children: expect.arrayContaining([D(1), D(2)]),
      },
      { digest: D(4), tags: [], pushedAt: 20, lastPulledAt: null, subject: D(1) },
    ]);
  });

  it("goes with its repository", async () => {
    await f.store.lifecycle.putPolicy(repo, "p");
    await f.store.lifecycle.startPreview(repo, "t", "p", 0);
    await f.store.lifecycle.finishPreview(repo, "t", {
      results: [{ digest: D(1), tags: [], pushedAt: 1, rulePriority: 1 }],
    });
    await f.store.registry.deleteRepository(repo);
    expect(await f.store.lifecycle.policy(repo)).toBeNull();
    expect(await f.store.lifecycle.preview(repo)).toBeNull();
    expect(await f.store.lifecycle.countPreviewResults(repo)).toBe(0);
  });
});
