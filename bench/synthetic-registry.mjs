// The synthetic registry of the re-match benchmark (bench:rematch, bench:console): 100,000
// images (SCALE=1) on 2,000 base stacks built from the fixture images' real packages, written
// through Drydock's stores as finished ENHANCED scans commit them. The description of what it
// holds is in the header of bench/rematch.mjs (1.). Also runnable as a child process:
//   node bench/synthetic-registry.mjs --vulndb TARGET
//   node bench/synthetic-registry.mjs --setup OUT VULNDB SCALE SEED WORK
// each printing one JSON line (heavy work in a child keeps the parent's RSS and event loop clean).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { fixtureImageNames, log, prng } from "./common.mjs";

const self = fileURLToPath(import.meta.url);
const repoRoot = resolve(dirname(self), "..");
export const dist = process.env.DRYDOCK_DIST ? resolve(process.env.DRYDOCK_DIST) : join(repoRoot, "dist");
export const fixturesDir = resolve(process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures");
const shared = resolve(process.env.DRYDOCK_SHARED ?? join(repoRoot, "../shared"));
export const vulndata = join(shared, "vulndata");

/** Bump when the generated registry changes (the one kept in the work directory is then generated again). */
export const GENERATOR = 1;
const APPS_PER_STACK = 5;
const BUILDS_PER_APP = 10;
/** Builds that share one dependency layer (the build cache keeps it until the dependencies change). */
const BUILDS_PER_DEPS = 3;
/** Application kinds and their shares (tuned for about 10 findings per image on average). */
const APP_KINDS = [
  ["node", 0.35],
  ["python", 0.1],
  ["java", 0.2],
  ["go", 0.04],
  ["static", 0.31],
];
const SKOPEO_STACKS = 0.01;
const DAY = 86_400_000;

/** The registry's size at a scale (1: 2,000 base stacks, 10,000 repositories, 100,000 images). */
export function registryShape(scale) {
  const STACKS = Math.max(1, Math.round(2000 * scale));
  return {
    STACKS,
    BASE_LAYERS: Math.min(20, STACKS),
    APPS_PER_STACK,
    BUILDS_PER_APP,
    repositories: STACKS * APPS_PER_STACK,
    images: STACKS * APPS_PER_STACK * BUILDS_PER_APP,
  };
}

const sha = (s) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

/** The Drydock modules (from dist/) the generator and the benchmarks use, merged into one object. */
export async function loadDrydock(extra = []) {
  const mods = await Promise.all(
    [
      "scan/engine.js",
      "image/analyze.js",
      "image/cache.js",
      "image/sources/index.js",
      "cli/sbom.js",
      "config/schema.js",
      "match/matcher.js",
      "match/keys.js",
      "vulndb/db.js",
      "vulndb/writer.js",
      "storage/meta/sqlite.js",
      "storage/meta/postgres.js",
      "scan/results.js",
      "scan/state.js",
      "scan/rematch.js",
      "scan/vulndb-change.js",
      "scan/vulndb-provider.js",
      "scan/service.js",
      "settings/service.js",
      "storage/blob/fs.js",
      "findings/inspector-backend.js",
      "api/access.js",
      "events/log.js",
      ...extra,
    ].map((m) => import(join(dist, m))),
  );
  return Object.assign({}, ...mods);
}

/** Runs `script` in a child process with `args`; resolves with the last JSON line it prints. */
export function jsonChild(script, args, { nodeArgs = [] } = {}) {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [...nodeArgs, script, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.on("error", rej);
    c.on("exit", (code) => {
      if (code !== 0) return rej(new Error(`${args[0]}: child exited with ${code}`));
      res(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

// ---- 1. the vulnerability database ---------------------------------------------------------

/** Builds the vulnerability database of ../shared/vulndata at `target`. */
export async function buildVulnDb(target) {
  const { buildDatabase } = await import(join(dist, "vulndb/build.js"));
  const { listSources } = await import(join(dist, "vulndb/sources.js"));
  const { importers, mirrorPaths } = await import(join(dist, "vulndb/importers/registry.js"));
  const t0 = performance.now();
  await buildDatabase({
    target,
    sources: await listSources([vulndata], mirrorPaths()),
    importers,
    fresh: true,
    onProblem: () => undefined,
  });
  return { ms: performance.now() - t0, bytes: statSync(target).size };
}

// ---- 2. the package population of the fixtures ----------------------------------------------

/** The packages of the fixture images, by the layer that brought them (real Package documents). */
export async function fixturePopulation(dd, { fixtures, work }) {
  const limits = dd.layerLimits(dd.configSchema.parse({}));
  const cache = new dd.InventoryCache(join(work, "layer-cache"));
  mkdirSync(cache.dir, { recursive: true });
  const layers = new Map(); // diffID -> packages
  let distro = null;
  const images = [];
  for (const name of fixtureImageNames(fixtures)) {
    const doc = await dd.analyzeSource(dd.openImageSource(`oci:${join(fixtures, "oci", name)}`), {
      scope: "all",
      limits,
      cache,
    });
    for (const inv of dd.inventoriesOf(doc)) {
      distro ??= inv.distro;
      images.push({ name, packages: inv.packages.length, layers: inv.image.layers.length });
      for (const p of inv.packages) {
        const list = layers.get(p.layer) ?? [];
        if (
          !list.some(
            (q) =>
              q.name === p.name &&
              q.version === p.version &&
              q.path === p.path &&
              q.archivePath === p.archivePath,
          )
        )
          list.push(p);
        layers.set(p.layer, list);
      }
    }
  }
  if (distro?.id !== "debian")
    throw new Error(`the fixtures' distro is ${JSON.stringify(distro)}, expected Debian`);
  // The layer every fixture starts with is the Debian base.
  const counts = new Map();
  for (const list of layers.values())
    for (const p of list) if (p.ecosystem === "deb") counts.set(p.layer, (counts.get(p.layer) ?? 0) + 1);
  const baseLayer = [...layers.keys()].find(
    (l) => layers.get(l).every((p) => p.ecosystem === "deb") && layers.get(l).some((p) => p.name === "libc6"),
  );
  const core = layers.get(baseLayer);
  const coreNames = new Set(core.map((p) => p.name));
  const all = [...layers.values()].flat();
  const uniq = (ps) => {
    const seen = new Set();
    return ps.filter((p) => {
      const k = `${p.ecosystem}\0${p.name}\0${p.version}\0${p.path}\0${p.archivePath ?? ""}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  const extraDebs = uniq(all.filter((p) => p.ecosystem === "deb" && !coreNames.has(p.name)));
  const owned = uniq(all.filter((p) => p.metadata?.ownedBy));
  const npm = uniq(all.filter((p) => p.ecosystem === "npm"));
  const pip = uniq(all.filter((p) => p.ecosystem === "pypi" && !p.metadata?.ownedBy));
  const jarLibs = uniq(all.filter((p) => p.ecosystem === "maven" && p.path.startsWith("/app/lib/")));
  const appJar = uniq(all.filter((p) => p.ecosystem === "maven" && !p.path.startsWith("/app/lib/")));
  const goBinaries = new Map();
  for (const p of uniq(all.filter((p) => p.ecosystem === "golang"))) {
    const list = goBinaries.get(p.path) ?? [];
    list.push(p);
    goBinaries.set(p.path, list);
  }
  const skopeo = [...goBinaries.entries()].find(([path]) => path.endsWith("/skopeo"))?.[1] ?? [];
  const goApp = [...goBinaries.entries()].find(([path]) => !path.endsWith("/skopeo"))?.[1] ?? [];
  return { distro, images, core, extraDebs, owned, npm, pip, jarLibs, appJar, skopeo, goApp };
}

// ---- 3. the synthetic registry ----------------------------------------------------------------

/** A package of the population placed in a synthetic layer. */
const inLayer = (p, layer) => ({ ...p, layer });

/**
 * The registry's images, generated lazily (the same sequence for the same seed): for each
 * base stack its layers, then its applications' builds, each with its layers' packages.
 */
export function* syntheticImages(pop, { scale, seed }) {
  const { STACKS, BASE_LAYERS } = registryShape(scale);
  const rand = prng(seed);
  const pick = (list, p) => list.filter(() => rand() < p);
  const kindOf = () => {
    let x = rand();
    for (const [k, share] of APP_KINDS) if ((x -= share) < 0) return k;
    return APP_KINDS.at(-1)[0];
  };
  const baseIds = Array.from({ length: BASE_LAYERS }, (_, i) => sha(`debian-12-base-${i}`));
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  for (let s = 0; s < STACKS; s++) {
    const base = baseIds[s % BASE_LAYERS];
    const runtime = sha(`stack-${s}-runtime`);
    const debs = pick(pop.extraDebs, 0.5);
    const debNames = new Set(debs.map((p) => p.name));
    const stackPackages = [
      ...pop.core.map((p) => inLayer(p, base)),
      ...debs.map((p) => inLayer(p, runtime)),
      ...pop.owned.filter((p) => debNames.has(p.metadata.ownedBy)).map((p) => inLayer(p, runtime)),
      ...(rand() < SKOPEO_STACKS ? pop.skopeo.map((p) => inLayer(p, runtime)) : []),
    ];
    for (let a = 0; a < APPS_PER_STACK; a++) {
      const kind = kindOf();
      const repository = `team-${String(s).padStart(4, "0")}/${kind}-svc-${a}`;
      let deps = null;
      for (let b = 0; b < BUILDS_PER_APP; b++) {
        if (b % BUILDS_PER_DEPS === 0) {
          const id = sha(`stack-${s}-app-${a}-deps-${b}`);
          const list =
            kind === "node"
              ? pick(pop.npm, 0.75)
              : kind === "python"
                ? pick(pop.pip, 0.6)
                : kind === "java"
                  ? pop.jarLibs
                  : [];
          deps = { id, packages: list.map((p) => inLayer(p, id)) };
        }
        const code = sha(`stack-${s}-app-${a}-build-${b}`);
        const codePackages = kind === "java" ? pop.appJar : kind === "go" ? pop.goApp : [];
        const layers = [base, runtime, ...(deps.packages.length ? [deps.id] : []), code];
        yield {
          stack: s,
          repository,
          tag: `build-${b}`,
          digest: sha(`image-${s}-${a}-${b}`),
          // pushes spread over 180 days, the builds of an app in order
          pushedAt:
            t0 + Math.floor(((s * APPS_PER_STACK + a) / (STACKS * APPS_PER_STACK)) * 170 * DAY) + b * DAY,
          layers,
          packages: [...stackPackages, ...deps.packages, ...codePackages.map((p) => inLayer(p, code))],
        };
      }
    }
  }
}

/**
 * Writes the synthetic registry to a new SQLite metadata database `out` (through the stores, as
 * finished ENHANCED scans commit it, matched against the database at `vulndbPath`); returns its
 * counts. `dd`: the modules of DRYDOCK_MODULES, merged.
 */
export async function writeSyntheticRegistry(dd, { out, vulndbPath, scale, seed, fixtures, work }) {
  const { STACKS } = registryShape(scale);
  const t0 = performance.now();
  const pop = await fixturePopulation(dd, { fixtures, work });
  log(
    `population: ${pop.images.length} fixture images; ${pop.core.length} base debs, ${pop.extraDebs.length} other debs, ` +
      `${pop.npm.length} npm, ${pop.pip.length} pip, ${pop.jarLibs.length + pop.appJar.length} maven, ${pop.goApp.length + pop.skopeo.length} go`,
  );
  for (const f of [out, `${out}-wal`, `${out}-shm`]) rmSync(f, { force: true });
  let clock = Date.now();
  const meta = await dd.openSqliteMetaStore(out, () => clock);
  await dd.writeScanningConfiguration(meta, {
    scanType: "ENHANCED",
    rules: [
      { scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
    ],
  });
  const db = dd.VulnDb.open(vulndbPath);
  const builtAt = Date.parse(db.freshness().builtAt);

  // Findings of a layer's packages, matched once per distinct content (the layer digest aside).
  const byContent = new Map();
  const contentKey = (ps) =>
    ps.map((p) => `${p.ecosystem}\0${p.name}\0${p.version}\0${p.path}\0${p.archivePath ?? ""}`).join("\n");
  const layerFindings = (packages, layer) => {
    const k = contentKey(packages);
    let fs = byContent.get(k);
    if (!fs) byContent.set(k, (fs = dd.matchPackages(packages, pop.distro, db)));
    return fs.map((f) => ({ ...f, package: { ...f.package, layer } }));
  };

  const repos = new Map();
  const perImage = [];
  let images = 0;
  let findings = 0;
  const BATCH = 100;
  let batch = [];
  const flush = async () => {
    for (const img of batch) {
      clock = img.pushedAt;
      await meta.tx(async (tx) => {
        let repositoryId = repos.get(img.repository);
        if (repositoryId === undefined)
          repos.set(img.repository, (repositoryId = await tx.registry.ensureRepository(img.repository)));
        const r = await tx.registry.putManifest({
          repositoryId,
          digest: img.digest,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          artifactType: null,
          subject: null,
          size: 1000 + img.layers.length * 200,
          annotations: null,
          references: [],
          tag: img.tag,
        });
        if (!r.ok) throw new Error("putManifest refused");
        const byLayer = new Map();
        for (const p of img.packages) byLayer.set(p.layer, [...(byLayer.get(p.layer) ?? []), p]);
        const found = [...byLayer.entries()].flatMap(([layer, ps]) => layerFindings(ps, layer));
        dd.markPartialFixes(found);
        await dd.recordScan(tx, {
          repositoryId,
          digest: img.digest,
          scanType: "ENHANCED",
          inventory: {
            image: { layers: img.layers.map((diffID) => ({ diffID })) },
            distro: pop.distro,
            packages: img.packages,
          },
          findings: found,
          now: img.pushedAt + 60_000,
        });
        findings += found.length;
      });
    }
    batch = [];
  };
  for (const img of syntheticImages(pop, { scale, seed })) {
    batch.push(img);
    perImage.push(img.packages.length);
    images++;
    if (batch.length === BATCH) await flush();
    if (images % 10_000 === 0)
      log(`  ${images} images, ${findings} findings, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await flush();
  await meta.settings.putRegistrySetting("vulndb-matched", { builtAt });
  db.close();
  await meta.close();

  const Database = (await import("better-sqlite3")).default;
  const sq = new Database(out);
  sq.pragma("wal_checkpoint(TRUNCATE)");
  const one = (q) => Object.values(sq.prepare(q).get())[0];
  const counts = {
    baseStacks: STACKS,
    images,
    repositories: one("select count(*) from repositories"),
    segments: one("select count(*) from inventory_segments"),
    segmentPackages: one("select count(*) from segment_packages"),
    segmentKeys: one("select count(*) from segment_keys"),
    imageSegments: one("select count(*) from image_segments"),
    findings: one("select count(*) from findings"),
    findingDetails: one("select count(*) from finding_details"),
    vulnerabilityIds: one("select count(distinct vulnerability_id) from findings"),
    imagesWithFindings: one("select count(*) from (select distinct repository_id, digest from findings)"),
    bySeverity: Object.fromEntries(
      sq
        .prepare("select severity, count(*) n from findings group by severity")
        .all()
        .map((r) => [r.severity, r.n]),
    ),
    packagesPerImage: {
      min: Math.min(...perImage),
      avg: perImage.reduce((a, b) => a + b, 0) / perImage.length,
      max: Math.max(...perImage),
    },
    distinctMatchedContents: byContent.size,
  };
  sq.close();
  if (findings !== counts.findings)
    log(`note: ${findings} findings matched, ${counts.findings} rows (duplicates merged)`);
  return {
    ...counts,
    generator: GENERATOR,
    setupMs: performance.now() - t0,
    setupMaxRss: process.resourceUsage().maxRSS * 1024,
    bytes: statSync(out).size,
    population: pop.images,
  };
}

// ---- 4. kept between runs -------------------------------------------------------------------

/**
 * The vulnerability database and the synthetic registry in `work`, built (each in a child
 * process) when missing; kept between runs, keyed by scale, seed, the generator, the database
 * file and, unless `anyMigrations`, the migrations (bench:rematch wants the registry as the
 * current migrations write it; bench:console copies whichever one was kept and lets the server
 * migrate the copy, timing that). `registry`: a file an earlier run generated (REGISTRY=FILE).
 */
export async function ensureRegistry({ work, scale, seed, registry, anyMigrations = false }) {
  mkdirSync(work, { recursive: true });
  const vulndbPath = join(work, "vulndb-v1.sqlite");
  let vulndb = null;
  if (!existsSync(vulndbPath)) {
    log("building the vulnerability database from ../shared/vulndata");
    vulndb = await jsonChild(self, ["--vulndb", `${vulndbPath}.tmp`]);
    renameSync(`${vulndbPath}.tmp`, vulndbPath);
  }
  const registryKey = `s${scale}-seed${seed}`;
  const { MIGRATION_NAMES } = await import(join(dist, "storage/meta/migrations.js"));
  const stamp = createHash("sha256")
    .update(
      JSON.stringify([
        registryKey,
        GENERATOR,
        MIGRATION_NAMES,
        // what the migrations create (an index changed in place before a release)
        readFileSync(join(dist, "storage/meta/migrations.js"), "utf8"),
        statSync(vulndbPath).mtimeMs,
      ]),
    )
    .digest("hex")
    .slice(0, 12);
  let registryDb = registry ? resolve(registry) : join(work, `registry-${registryKey}-${stamp}.db`);
  if (!registry && anyMigrations && !existsSync(`${registryDb}.json`)) {
    // the newest registry of this scale, seed and generator, made from this database file
    const kept = readdirSync(work)
      .filter((f) => f.startsWith(`registry-${registryKey}-`) && f.endsWith(".db.json"))
      .map((f) => join(work, f))
      .filter((f) => {
        const s = JSON.parse(readFileSync(f, "utf8"));
        return s.generator === GENERATOR && s.vulndbMtimeMs === statSync(vulndbPath).mtimeMs;
      })
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    if (kept.length) registryDb = kept[0].slice(0, -".json".length);
  }
  const setupFile = `${registryDb}.json`;
  let setup;
  if (existsSync(registryDb) && existsSync(setupFile)) {
    setup = JSON.parse(readFileSync(setupFile, "utf8"));
    log(`registry: reusing ${registryDb}`);
  } else {
    log("registry: generating (through the stores)");
    setup = await jsonChild(self, [
      "--setup",
      `${registryDb}.tmp`,
      vulndbPath,
      String(scale),
      String(seed),
      work,
    ]);
    renameSync(`${registryDb}.tmp`, registryDb);
    setup.vulndbMtimeMs = statSync(vulndbPath).mtimeMs;
    writeFileSync(setupFile, JSON.stringify(setup));
  }
  return { vulndbPath, vulndb, registryDb, setup };
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "--vulndb") {
    process.stdout.write(JSON.stringify(await buildVulnDb(args[0])) + "\n");
  } else if (mode === "--setup") {
    const [out, vulndbPath, scale, seed, work] = args;
    const dd = await loadDrydock();
    const counts = await writeSyntheticRegistry(dd, {
      out,
      vulndbPath,
      scale: Number(scale),
      seed: Number(seed),
      fixtures: fixturesDir,
      work,
    });
    process.stdout.write(JSON.stringify(counts) + "\n");
  }
}

if (process.argv[1] && resolve(process.argv[1]) === self) {
  main().catch((e) => {
    process.stderr.write(`synthetic-registry: ${e.stack ?? e}\n`);
    process.exit(1);
  });
}
