#!/usr/bin/env node
// Lifecycle benchmark (issue 13, "Speed": lifecycle evaluation of a repository with 100,000
// images, goal under 5 s). Run standalone after `npm run build`:
//
//   node bench/policy-lifecycle.mjs          (IMAGES=100000 by default)
//
// or as the lifecycle section of `npm run bench:policy` (bench/policy.mjs imports
// lifecycleBench). Environment: IMAGES (default 100,000), DRYDOCK_DIST (another build).
//
// 1. A repository of IMAGES images in a real SQLite metadata store, written through the stores
//    (RegistryStore.putManifest and recordPull, 5,000 images per transaction; no blobs: the
//    evaluation reads manifests, tags and references only), pushed over 400 simulated days:
//    two thirds tagged (`build-N`, every seventh also `release-N`), one third untagged, half of
//    them pulled at some point, and one in a hundred signed (a cosign `.sig` tag image and an
//    OCI referrer, which go with their subject).
// 2. evaluateMs: the pure evaluation (evaluateLifecyclePolicy) of a four-rule policy (keep 50
//    releases; untagged older than 7 days; dev builds not pulled for 30 days; keep 1,000 of
//    any) over the repository's images, as read by LifecycleStore.images (readMs, separately).
// 3. dryRunMs: `drydock lifecycle run --dry-run` for the repository through LifecycleService
//    (read, parse, evaluate), as the CLI and the schedule do it.
// Exits 0 whatever the figures; 1 when it cannot run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = process.env.DRYDOCK_DIST ? resolve(process.env.DRYDOCK_DIST) : join(repoRoot, "dist");
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const load = (m) => import(pathToFileURL(join(dist, m)).href);

const DAY = 86_400_000;
const hex = (n, salt) => (salt + n.toString(16)).padStart(64, "0");

const POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: "keep the 50 newest releases",
      selection: {
        tagStatus: "tagged",
        tagPatternList: ["release-*"],
        countType: "imageCountMoreThan",
        countNumber: 50,
      },
      action: { type: "expire" },
    },
    {
      rulePriority: 2,
      description: "untagged images older than a week",
      selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 },
      action: { type: "expire" },
    },
    {
      rulePriority: 3,
      description: "builds not pulled for 30 days",
      selection: {
        tagStatus: "tagged",
        tagPrefixList: ["build-"],
        countType: "sinceImagePulled",
        countUnit: "days",
        countNumber: 30,
      },
      action: { type: "expire" },
    },
    {
      rulePriority: 4,
      description: "at most 1,000 images",
      selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1000 },
      action: { type: "expire" },
    },
  ],
});

/** Builds the repository, times the evaluation and a dry run; returns the figures. */
export async function lifecycleBench(o = {}) {
  const images = o.images ?? Number(process.env.IMAGES ?? 100_000);
  const [
    { openSqliteMetaStore },
    { FsBlobStore },
    { RegistryService },
    { RepositorySettingsService },
    svc,
    ev,
    gr,
  ] = await Promise.all([
    load("storage/meta/sqlite.js"),
    load("storage/blob/fs.js"),
    load("registry/service.js"),
    load("settings/service.js"),
    load("policy/lifecycle/service.js"),
    load("policy/lifecycle/evaluate.js"),
    load("policy/lifecycle/grammar.js"),
  ]);
  const dir = mkdtempSync(join(tmpdir(), "drydock-bench-lifecycle-"));
  const start = Date.UTC(2026, 0, 1);
  let clock = start;
  const meta = await openSqliteMetaStore(join(dir, "meta.sqlite"), () => clock);
  try {
    const blobs = await FsBlobStore.open(join(dir, "blobs"));
    const repo = await meta.registry.ensureRepository("bench/app");
    const t0 = performance.now();
    const span = 400 * DAY;
    let manifests = 0;
    for (let i = 0; i < images;) {
      const end = Math.min(images, i + 5_000);
      await meta.tx(async (tx) => {
        for (; i < end; i++) {
          clock = start + Math.floor((span * i) / images);
          const digest = `sha256:${hex(i, "a")}`;
          const put = (d, tag, subject) =>
            tx.registry.putManifest({
              repositoryId: repo,
              digest: d,
              mediaType: "application/vnd.oci.image.manifest.v1+json",
              artifactType: subject ? "application/vnd.dev.cosign.artifact.sig.v1+json" : null,
              subject: subject ?? null,
              size: 500,
              annotations: null,
              references: [],
              tag,
            });
          const tagged = i % 3 !== 0;
          await put(digest, tagged ? `build-${i}` : undefined);
          if (tagged && i % 7 === 0) await put(digest, `release-${i}`);
          manifests++;
          if (i % 2 === 0) await tx.registry.recordPull(repo, digest, clock + ((i * 7919) % 60) * DAY);
          if (i % 100 === 1) {
            await put(`sha256:${hex(i, "b")}`, `sha256-${hex(i, "a")}.sig`);
            await put(`sha256:${hex(i, "c")}`, undefined, digest);
            manifests += 2;
          }
        }
      });
    }
    clock = start + span + DAY;
    const buildMs = performance.now() - t0;
    log(
      `repository of ${images} images (${manifests} manifests) written in ${(buildMs / 1000).toFixed(1)} s`,
    );

    const t1 = performance.now();
    const rows = await meta.lifecycle.images(repo);
    const readMs = performance.now() - t1;
    const policy = gr.parseLifecyclePolicy(POLICY);
    const t2 = performance.now();
    const expired = ev.evaluateLifecyclePolicy(policy, rows, clock);
    const evaluateMs = performance.now() - t2;

    const settings = new RepositorySettingsService(meta);
    await settings.putLifecyclePolicy(repo, POLICY);
    const registry = new RegistryService(meta, blobs, {
      maxManifestBytes: 4 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: "123456789012", region: "us-east-1" },
      now: () => clock,
    });
    const lifecycle = new svc.LifecycleService(meta, settings, { registry, now: () => clock });
    const t3 = performance.now();
    const [run] = await lifecycle.run({ repository: "bench/app", dryRun: true });
    const dryRunMs = performance.now() - t3;
    const attached = expired.reduce((n, e) => n + e.attached.length, 0);
    const figures = {
      images,
      manifests,
      expired: expired.length,
      attached,
      readMs: Math.round(readMs),
      evaluateMs: Math.round(evaluateMs),
      dryRunMs: Math.round(dryRunMs),
      goalMs: 5_000,
    };
    if (run.expired.length !== expired.length) throw new Error("the dry run and the evaluation disagree");
    process.stdout.write(
      `lifecycle: ${images} images (${manifests} manifests): read ${figures.readMs} ms, evaluate ${figures.evaluateMs} ms ` +
        `(${expired.length} expired, ${attached} attached), dry run ${figures.dryRunMs} ms (goal < 5,000 ms)\n`,
    );
    return figures;
  } finally {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  lifecycleBench().then(
    (f) => process.stdout.write(JSON.stringify(f, null, 2) + "\n"),
    (e) => {
      process.stderr.write(`${e?.stack ?? e}\n`);
      process.exit(1);
    },
  );
}
