import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sha256 } from "../../core/digest.js";
import { MediaTypes } from "../../core/media-types.js";
import { Singleton } from "../../jobs/singleton.js";
import { JobWorker } from "../../jobs/worker.js";
import { RegistryService, type RegistryHooks } from "../../registry/service.js";
import { RepositorySettingsService } from "../../settings/service.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { cosignAttachmentTag } from "../referrers.js";
import { LifecyclePolicyError } from "./grammar.js";
import { LifecycleService } from "./service.js";

/**
 * The lifecycle service on a real SQLite store and blob store, with images pushed through the
 * registry service: runs delete through the registry's delete path (events, atomic groups),
 * dry runs and previews change nothing, the preview job completes.
 */

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe("LifecycleService", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: FsBlobStore;
  let clock: number;
  let settings: RepositorySettingsService;
  let hooks: RegistryHooks;
  let reg: RegistryService;
  let svc: LifecycleService;

  beforeEach(async () => {
    clock = T0;
    dir = await mkdtemp(join(tmpdir(), "drydock-lifecycle-"));
    blobs = await FsBlobStore.open(dir);
    meta = await openSqliteMetaStore(join(dir, "meta.db"), () => clock);
    settings = new RepositorySettingsService(meta);
    hooks = {};
    reg = new RegistryService(
      meta,
      blobs,
      {
        maxManifestBytes: 4 << 20,
        createRepositoryOnPush: true,
        aws: { accountId: "123456789012", region: "us-east-1" },
        now: () => clock,
      },
      [{ manifestDeleted: (tx, e) => hooks.manifestDeleted?.(tx, e) ?? Promise.resolve() }],
    );
    svc = new LifecycleService(meta, settings, { registry: reg, now: () => clock });
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** Pushes an image (its own config blob) at `daysAgo` days before now; returns its digest. */
  async function push(repo: string, tag: string | undefined, o: { subject?: string } = {}): Promise<string> {
    const config = Buffer.from(`{"n":${n++}}`);
    await reg.monolithicUpload(repo, sha256(config), Readable.from([config]));
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: config.length },
        layers: [],
        ...(o.subject ? { subject: { mediaType: MediaTypes.ociManifest, digest: o.subject, size: 1 } } : {}),
      }),
    );
    return (await reg.putManifest(repo, tag ?? sha256(body), body, MediaTypes.ociManifest)).digest;
  }
  async function pushIndex(repo: string, tag: string, children: string[]): Promise<string> {
    const manifests = [];
    for (const c of children) {
      const m = await reg.getManifest(repo, c);
      manifests.push({ mediaType: m.mediaType, digest: m.digest, size: m.size });
    }
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }));
    return (await reg.putManifest(repo, tag, body, MediaTypes.ociIndex)).digest;
  }
  const put = async (repo: string, rules: unknown[]) => {
    const r = await settings.repository(repo);
    await settings.putLifecyclePolicy(r!.id, JSON.stringify({ rules }).padEnd(100));
    return r!;
  };
  const keepOne = (tagStatus: string, extra: Record<string, unknown> = {}) => ({
    rulePriority: 1,
    selection: { tagStatus, countType: "imageCountMoreThan", countNumber: 1, ...extra },
    action: { type: "expire" },
  });
  const digests = async (repo: string) =>
    (await meta.lifecycle.images((await settings.repository(repo))!.id)).map((i) => i.digest).sort();
  const deleteEvents = async () =>
    (await meta.events.read(0))
      .filter((e) => e.detailType === "ECR Image Action")
      .map((e) => (JSON.parse(e.json) as { detail: Record<string, string> }).detail)
      .filter((d) => d["action-type"] === "DELETE");

  it("refuses an invalid policy with the rule and field named, storing nothing", async () => {
    await push("app", "v1");
    const r = (await settings.repository("app"))!;
    await expect(
      settings.putLifecyclePolicy(r.id, JSON.stringify({ rules: [keepOne("tagged")] }).padEnd(100)),
    ).rejects.toThrow(
      /rules\[0\] \(rulePriority 1\): selection.tagPrefixList: a rule with tagStatus "tagged" needs/,
    );
    await expect(settings.putLifecyclePolicy(r.id, "{}")).rejects.toBeInstanceOf(LifecyclePolicyError);
    expect(await settings.lifecyclePolicy(r.id)).toBeNull();
  });

  it("a run deletes what the policy expires through the delete path; a dry run only reports", async () => {
    const old = await push("app", "v1");
    clock += DAY;
    const mid = await push("app", "v2");
    clock += DAY;
    const fresh = await push("app", "v3");
    const other = await push("other", "v1");
    const repo = await put("app", [keepOne("tagged", { tagPrefixList: ["v"] })]);

    const dry = await svc.run({ dryRun: true });
    expect(
      dry!.map((r) => [r.repository, r.expired.map((e) => [e.digest, e.rulePriority]), r.deletedManifests]),
    ).toEqual([
      [
        "app",
        [
          [old, 1],
          [mid, 1],
        ],
        0,
      ],
    ]);
    expect(await digests("app")).toEqual([old, mid, fresh].sort());
    expect((await settings.lifecyclePolicy(repo.id))!.lastEvaluatedAt).toBeNull();

    clock += 1000;
    const run = await svc.run({ repository: "app" });
    expect(run![0]!.deletedManifests).toBe(2);
    expect(await digests("app")).toEqual([fresh]);
    expect(await digests("other")).toEqual([other]);
    expect((await settings.lifecyclePolicy(repo.id))!.lastEvaluatedAt).toBe(clock);
    expect((await deleteEvents()).map((d) => [d["image-digest"], d["image-tag"], d.result])).toEqual([
      [old, "v1", "SUCCESS"],
      [mid, "v2", "SUCCESS"],
    ]);
    // Blobs are left to garbage collection.
    expect(await blobs.stat(old as never)).not.toBeNull();
    // Nothing more to do.
    expect((await svc.run({}))![0]!.expired).toEqual([]);
    expect(await svc.run({ repository: "nope" })).toBeNull();
    expect(await svc.run({ repository: "other" })).toEqual([]);
  });

  it("deletes referrers and cosign attachments with their subject, and an index with its children", async () => {
    const old = await push("app", "v1");
    const sig = await push("app", cosignAttachmentTag(old, "sig")!);
    const ref = await push("app", undefined, { subject: old });
    const refOfRef = await push("app", undefined, { subject: ref });
    const a = await push("app", undefined);
    const b = await push("app", undefined);
    const idx = await pushIndex("app", "multi-1", [a, b]);
    clock += DAY;
    const c = await push("app", undefined);
    const idx2 = await pushIndex("app", "multi-2", [c, b]);
    clock += DAY;
    const fresh = await push("app", "v2");
    const freshSig = await push("app", cosignAttachmentTag(fresh, "sig")!);
    await put("app", [
      {
        rulePriority: 1,
        selection: {
          tagStatus: "tagged",
          tagPatternList: ["v*"],
          countType: "imageCountMoreThan",
          countNumber: 1,
        },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        selection: {
          tagStatus: "tagged",
          tagPatternList: ["multi-*"],
          countType: "imageCountMoreThan",
          countNumber: 1,
        },
        action: { type: "expire" },
      },
    ]);
    const [run] = (await svc.run({}))!;
    expect(run!.expired.map((e) => [e.digest, e.rulePriority])).toEqual([
      [old, 1],
      [idx, 2],
    ]);
    expect(run!.deletedManifests).toBe(6);
    // b stays: the surviving index lists it.
    expect(await digests("app")).toEqual([b, c, idx2, fresh, freshSig].sort());
    const deleted = (await deleteEvents()).map((d) => d["image-digest"]);
    expect(deleted.sort()).toEqual([old, sig, ref, refOfRef, idx, a].sort());
  });

  it("deletes an image with what goes with it in one transaction: a failure leaves the group whole", async () => {
    const old = await push("app", "v1");
    const ref = await push("app", undefined, { subject: old });
    clock += DAY;
    const fresh = await push("app", "v2");
    await put("app", [keepOne("tagged", { tagPrefixList: ["v"] })]);
    // The subject's deletion fails after its referrer's went (a crash mid-group).
    hooks.manifestDeleted = async (_tx, e) => {
      if (e.digest === old) throw new Error("crash");
    };
    await expect(svc.run({})).rejects.toThrow("crash");
    expect(await digests("app")).toEqual([old, ref, fresh].sort());
    expect(await deleteEvents()).toEqual([]);
    hooks.manifestDeleted = undefined;
    await svc.run({});
    expect(await digests("app")).toEqual([fresh]);
  });

  it("leaves alone an image whose tags changed since it was evaluated", async () => {
    const old = await push("app", "v1");
    clock += DAY;
    await push("app", "v2");
    const repo = await put("app", [keepOne("tagged", { tagPrefixList: ["v"] })]);
    const stale = await svc.evaluate(repo.id, (await settings.lifecyclePolicy(repo.id))!.policyText);
    // A tag is pushed onto the old image after the evaluation.
    const m = await reg.getManifest("app", old);
    await reg.putManifest("app", "keep-me", m.body, m.mediaType);
    vi.spyOn(svc, "evaluate").mockResolvedValueOnce(stale);
    const [run] = (await svc.run({}))!;
    expect(run!.skipped).toEqual([old]);
    expect(run!.deletedManifests).toBe(0);
    expect((await digests("app")).includes(old)).toBe(true);
  });

  it("previews as a job: IN_PROGRESS, then COMPLETE with what a run would expire, deleting nothing", async () => {
    const old = await push("app", "v1");
    clock += DAY;
    const untagged = await push("app", undefined);
    clock += DAY;
    await push("app", "v2");
    clock += 1000;
    const repo = (await settings.repository("app"))!;
    expect(await svc.startPreview(repo)).toEqual({ ok: false, reason: "no-policy" });
    await put("app", [keepOne("tagged", { tagPrefixList: ["v"] })]);
    const other = JSON.stringify({
      rules: [
        keepOne("tagged", { tagPrefixList: ["v"] }),
        {
          ...keepOne("any"),
          rulePriority: 2,
          selection: { tagStatus: "any", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
        },
      ],
    });
    await expect(svc.startPreview(repo, "{}".padEnd(100))).rejects.toBeInstanceOf(LifecyclePolicyError);
    let queued = 0;
    svc.onQueued = () => queued++;
    expect(await svc.startPreview(repo, other)).toEqual({ ok: true, policyText: other });
    expect(queued).toBe(1);
    expect(await svc.startPreview(repo)).toEqual({ ok: false, reason: "in-progress" });
    expect(await svc.preview(repo.id)).toMatchObject({ status: "IN_PROGRESS", policyText: other });

    const worker = new JobWorker(meta, svc.jobHandlers() as never, {
      concurrency: 1,
      maxAttempts: 3,
      retryBaseMs: 10,
      leaseMs: 30_000,
      pollIntervalMs: 20,
      now: () => clock,
    });
    await worker.start(false);
    await vi.waitFor(async () => expect((await svc.preview(repo.id))!.status).toBe("COMPLETE"), {
      timeout: 5000,
    });
    await worker.stop();
    const results = await meta.lifecycle.previewResults(repo.id, { limit: 10 });
    expect(results.items.map((r) => [r.digest, r.rulePriority]).sort()).toEqual(
      [
        [old, 1],
        [untagged, 2],
      ].sort(),
    );
    expect(await digests("app")).toHaveLength(3);
    // The stored policy is the default text of a new preview.
    expect(await svc.startPreview(repo)).toMatchObject({ ok: true });
  });

  it("runs on a schedule as a singleton: of two processes asking at once, one runs", async () => {
    const old = await push("app", "v1");
    clock += DAY;
    const fresh = await push("app", "v2");
    await put("app", [keepOne("tagged", { tagPrefixList: ["v"] })]);
    let runs = 0;
    const task = (holder: string) =>
      new Singleton(meta, {
        name: "lifecycle",
        holder,
        intervalMs: 3_600_000,
        run: async () => {
          runs++;
          return svc.run();
        },
      });
    const [a, b] = [task("node-a"), task("node-b")];
    const ran = [await a.tick(), await b.tick()];
    expect(ran.filter(Boolean)).toHaveLength(1);
    expect(runs).toBe(1);
    expect(await digests("app")).toEqual([fresh]);
    expect(old).not.toBe(fresh);
  });

  it("a preview whose job fails for good is FAILED with the reason", async () => {
    await push("app", "v1");
    const repo = await put("app", [keepOne("tagged", { tagPrefixList: ["v"] })]);
    expect(await svc.startPreview(repo)).toMatchObject({ ok: true });
    const job = (await meta.jobs.claim(["lifecycle-preview"], 60_000))!;
    const handler = svc.jobHandlers()["lifecycle-preview"]!;
    await meta.tx((tx) => handler.failed(tx, { ...job, leaseToken: job.leaseToken! } as never, "disk full"));
    expect(await svc.preview(repo.id)).toMatchObject({
      status: "FAILED",
      error: "The preview could not be computed: disk full",
    });
    // A failed preview does not block the next one.
    expect(await svc.startPreview(repo)).toMatchObject({ ok: true });
  });
});
