import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { MediaTypes } from "../../core/media-types.js";
import { LifecycleService } from "../../policy/lifecycle/service.js";
import { RegistryService } from "../../registry/service.js";
import { RepositorySettingsService } from "../../settings/service.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { AwsError, type CallContext } from "../aws-json.js";
import type { EcrDeps } from "./context.js";
import { lifecycleOperations } from "./lifecycle.js";

/**
 * The lifecycle operations over real stores: shapes, ECR's errors, and the preview's paging,
 * filters and image ids (the wire and the waiter are proven with the AWS CLI in
 * test/e2e/lifecycle.test.ts).
 */

const DAY = 86_400_000;

describe("ECR lifecycle operations", () => {
  let dir: string;
  let meta: MetaStore;
  let clock: number;
  let reg: RegistryService;
  let lifecycle: LifecycleService;
  let ops: ReturnType<typeof lifecycleOperations>;
  const ctx = {} as CallContext;

  beforeEach(async () => {
    clock = Date.UTC(2026, 0, 1);
    dir = await mkdtemp(join(tmpdir(), "drydock-ecr-lifecycle-"));
    meta = await openSqliteMetaStore(join(dir, "meta.db"), () => clock);
    const settings = new RepositorySettingsService(meta);
    reg = new RegistryService(meta, await FsBlobStore.open(dir), {
      maxManifestBytes: 4 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: "123456789012", region: "us-east-1" },
    });
    lifecycle = new LifecycleService(meta, settings, { registry: reg, now: () => clock });
    const deps = {
      accountId: "123456789012",
      region: "us-east-1",
      settings,
      registry: reg,
      lifecycle,
      loginTokens: {} as never,
    } satisfies EcrDeps;
    ops = lifecycleOperations(deps);
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  async function push(tag?: string): Promise<string> {
    const config = Buffer.from(`{"n":${n++}}`);
    await reg.monolithicUpload("app", sha256(config), Readable.from([config]));
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: config.length },
        layers: [],
      }),
    );
    return (await reg.putManifest("app", tag ?? sha256(body), body, MediaTypes.ociManifest)).digest;
  }
  async function error(p: Promise<unknown>): Promise<AwsError> {
    try {
      await p;
    } catch (e) {
      if (e instanceof AwsError) return e;
      throw e;
    }
    throw new Error("expected an AwsError");
  }
  const text = (rules: unknown[]) => JSON.stringify({ rules }).padEnd(100);
  const keepTagged = (count: number) =>
    text([
      {
        rulePriority: 1,
        selection: {
          tagStatus: "tagged",
          tagPrefixList: ["v"],
          countType: "imageCountMoreThan",
          countNumber: count,
        },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 },
        action: { type: "expire" },
      },
    ]);

  it("puts, gets and deletes a policy with ECR's shapes and errors", async () => {
    await push("v1");
    const repo = { repositoryName: "app" };
    expect(await error(ops.GetLifecyclePolicy!(repo, ctx))).toMatchObject({
      code: "LifecyclePolicyNotFoundException",
      message:
        "Lifecycle policy does not exist for the repository with name 'app' in the registry with id '123456789012'",
    });
    expect(await error(ops.GetLifecyclePolicy!({ repositoryName: "nope" }, ctx))).toMatchObject({
      code: "RepositoryNotFoundException",
    });
    const bad = await error(
      ops.PutLifecyclePolicy!(
        { ...repo, lifecyclePolicyText: text([{ rulePriority: 1, selection: {} }]) },
        ctx,
      ),
    );
    expect(bad.code).toBe("InvalidParameterException");
    expect(bad.message).toMatch(/rules\[0\] \(rulePriority 1\): selection.tagStatus: is required/);
    const t = keepTagged(1);
    expect(
      await ops.PutLifecyclePolicy!({ ...repo, lifecyclePolicyText: t, registryId: "123456789012" }, ctx),
    ).toEqual({
      registryId: "123456789012",
      repositoryName: "app",
      lifecyclePolicyText: t,
    });
    expect(await ops.GetLifecyclePolicy!(repo, ctx)).toEqual({
      registryId: "123456789012",
      repositoryName: "app",
      lifecyclePolicyText: t,
    });
    await lifecycle.run({});
    expect(await ops.GetLifecyclePolicy!(repo, ctx)).toMatchObject({ lastEvaluatedAt: clock / 1000 });
    expect(await ops.DeleteLifecyclePolicy!(repo, ctx)).toMatchObject({
      lifecyclePolicyText: t,
      lastEvaluatedAt: clock / 1000,
    });
    expect((await error(ops.DeleteLifecyclePolicy!(repo, ctx))).code).toBe(
      "LifecyclePolicyNotFoundException",
    );
    expect((await error(ops.GetLifecyclePolicy!({ ...repo, registryId: "000000000000" }, ctx))).code).toBe(
      "InvalidParameterException",
    );
  });

  it("previews: IN_PROGRESS, one at a time, then pages of results with filters and ids", async () => {
    const repo = { repositoryName: "app" };
    const tagged: string[] = [];
    const untagged: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock += DAY;
      tagged.push(await push(`v${i}`));
      untagged.push(await push());
    }
    expect((await error(ops.StartLifecyclePolicyPreview!(repo, ctx))).code).toBe(
      "LifecyclePolicyNotFoundException",
    );
    expect((await error(ops.GetLifecyclePolicyPreview!(repo, ctx))).code).toBe(
      "LifecyclePolicyPreviewNotFoundException",
    );
    await ops.PutLifecyclePolicy!({ ...repo, lifecyclePolicyText: keepTagged(2) }, ctx);
    expect(
      (await error(ops.StartLifecyclePolicyPreview!({ ...repo, lifecyclePolicyText: "{}".padEnd(120) }, ctx)))
        .code,
    ).toBe("InvalidParameterException");
    expect(await ops.StartLifecyclePolicyPreview!(repo, ctx)).toEqual({
      registryId: "123456789012",
      repositoryName: "app",
      lifecyclePolicyText: keepTagged(2),
      status: "IN_PROGRESS",
    });
    expect((await error(ops.StartLifecyclePolicyPreview!(repo, ctx))).code).toBe(
      "LifecyclePolicyPreviewInProgressException",
    );
    expect(await ops.GetLifecyclePolicyPreview!(repo, ctx)).toMatchObject({
      status: "IN_PROGRESS",
      previewResults: [],
    });
    // The job (a worker runs it in the server).
    const job = (await meta.jobs.claim(["lifecycle-preview"], 60_000))!;
    const handler = lifecycle.jobHandlers()["lifecycle-preview"]!;
    const commit = await handler.run({
      ...job,
      payload: job.payload,
      leaseToken: job.leaseToken!,
    } as never);
    await meta.tx(async (tx) => void (await commit(tx)));

    const all = (await ops.GetLifecyclePolicyPreview!({ ...repo, maxResults: 100 }, ctx)) as {
      status: string;
      previewResults: {
        imageDigest: string;
        imageTags?: string[];
        appliedRulePriority: number;
        action: unknown;
      }[];
      summary: unknown;
      nextToken?: string;
    };
    expect(all.status).toBe("COMPLETE");
    expect(all.summary).toEqual({ expiringImageTotalCount: 7 });
    expect(all.nextToken).toBeUndefined();
    expect(Object.fromEntries(all.previewResults.map((r) => [r.imageDigest, r.appliedRulePriority]))).toEqual(
      Object.fromEntries([
        ...tagged.slice(0, 3).map((d) => [d, 1]),
        ...untagged.slice(0, 4).map((d) => [d, 2]),
      ]),
    );
    expect(all.previewResults[0]!.action).toEqual({ type: "EXPIRE" });
    // Pages of 3 cover the same results once.
    const seen: string[] = [];
    for (let token: string | undefined, i = 0; i < 10; i++) {
      const p = (await ops.GetLifecyclePolicyPreview!(
        { ...repo, maxResults: 3, nextToken: token },
        ctx,
      )) as typeof all;
      seen.push(...p.previewResults.map((r) => r.imageDigest));
      token = p.nextToken;
      if (!token) break;
    }
    expect(seen).toEqual(all.previewResults.map((r) => r.imageDigest));
    const onlyTagged = (await ops.GetLifecyclePolicyPreview!(
      { ...repo, filter: { tagStatus: "TAGGED" } },
      ctx,
    )) as typeof all;
    expect(onlyTagged.previewResults.map((r) => r.imageDigest).sort()).toEqual(tagged.slice(0, 3).sort());
    const byIds = (await ops.GetLifecyclePolicyPreview!(
      { ...repo, imageIds: [{ imageTag: "v0" }, { imageDigest: untagged[0] }, { imageTag: "v4" }] },
      ctx,
    )) as typeof all;
    expect(byIds.previewResults.map((r) => r.imageDigest).sort()).toEqual([tagged[0], untagged[0]].sort());
    expect(
      (
        await error(
          ops.GetLifecyclePolicyPreview!({ ...repo, imageIds: [{ imageTag: "v0" }], maxResults: 5 }, ctx),
        )
      ).code,
    ).toBe("InvalidParameterException");
    // Nothing was deleted.
    expect((await meta.lifecycle.images((await meta.registry.repositoryId("app"))!)).length).toBe(10);
  });
});
