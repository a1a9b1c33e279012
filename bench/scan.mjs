#!/usr/bin/env node
// Scan benchmark: what matching costs, next to what reading the image costs.
//
//   npm run bench:scan          (needs the built fixtures and ../shared/vulndata)
//
// Environment: RUNS (default 3; medians are reported), DRYDOCK_FIXTURES (default
// /tmp/drydock-fixtures), DRYDOCK_SHARED (default ../shared), IMAGES (comma-separated subset),
// IMPORT_RUNS (whole-pack imports, default 1; bench:vulndb has more on the import alone).
//
// 1. import: the whole pack with buildDatabase, as `drydock db import` does, in a child process
//    of its own (its peak RSS is its own): time, peak RSS, database size.
// 2. matching: in this process, each image's inventory from a warm layer cache, then
//    `matchPackages` against the database RUNS times (the first call is reported apart: it pays
//    for statement and parse caches). Also a 1,000-package inventory made of the real packages
//    of all the images (distinct name/version/ecosystem, repeated at other paths up to 1,000):
//    goal under 200 ms.
// 3. CLI: `drydock scan IMG --no-cache` against `drydock sbom IMG --no-cache` (both cold: a new
//    process, no layer cache), alternating, RUNS times each: goal, matching adds under 10%.
// Exits 0 whatever the figures (a benchmark reports, it does not fail); 1 when it cannot run.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(repoRoot, "dist");
const cli = join(dist, "cli/main.js");
const fixtures = resolve(process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures");
const vulndata = resolve(process.env.DRYDOCK_SHARED ?? join(repoRoot, "../shared"), "vulndata");
const RUNS = Number(process.env.RUNS ?? 3);
const IMPORT_RUNS = Number(process.env.IMPORT_RUNS ?? 1);
const SYNTHETIC_PACKAGES = 1000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const mb = (n) => (n / 1e6).toFixed(1);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** Child mode: one whole-pack import, its figures as JSON on stdout. */
async function importChild(target) {
  const { buildDatabase } = await import(join(dist, "vulndb/build.js"));
  const { listSources } = await import(join(dist, "vulndb/sources.js"));
  const { importers, mirrorPaths } = await import(join(dist, "vulndb/importers/registry.js"));
  const t0 = performance.now();
  const sources = await listSources([vulndata], mirrorPaths());
  let problems = 0;
  const report = await buildDatabase({
    target,
    sources,
    importers,
    fresh: true,
    onProblem: () => problems++,
  });
  const ms = performance.now() - t0;
  process.stdout.write(
    JSON.stringify({
      ms,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      sizeBytes: statSync(target).size,
      feeds: report.feeds.length,
      problems,
    }) + "\n",
  );
}

function spawnNode(args, { capture = false } = {}) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ["ignore", capture ? "pipe" : "ignore", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("error", rej);
    child.on("exit", (code) => res({ code, ms: performance.now() - t0, out, err }));
  });
}

async function benchImport(target) {
  const runs = [];
  for (let i = 0; i < IMPORT_RUNS; i++) {
    const r = await spawnNode([fileURLToPath(import.meta.url), "--import", target], { capture: true });
    if (r.code !== 0) throw new Error(`import failed (${r.code}): ${r.err}`);
    runs.push(JSON.parse(r.out.trim().split("\n").pop()));
  }
  const pick = runs.find((r) => r.ms === median(runs.map((x) => x.ms)));
  return { ...pick, runs };
}

async function loadDrydock() {
  const mods = await Promise.all(
    [
      "image/analyze.js",
      "image/cache.js",
      "image/sources/index.js",
      "catalog/registry.js",
      "cli/sbom.js",
      "config/schema.js",
      "match/matcher.js",
      "match/keys.js",
      "vulndb/db.js",
    ].map((m) => import(join(dist, m))),
  );
  return Object.assign({}, ...mods);
}

/** In-process matching time per image, the inventory coming from a warm layer cache. */
async function benchMatching(dd, dbPath, names) {
  const db = dd.VulnDb.open(dbPath);
  const cacheDir = mkdtempSync(join(tmpdir(), "drydock-bench-scan-cache-"));
  const limits = dd.layerLimits(dd.configSchema.parse({}));
  const analyze = (name) =>
    dd.analyzeImage(dd.openImageSource(`oci:${join(fixtures, "oci", name)}`), {
      catalogers: dd.catalogers,
      detectors: dd.distroDetectors,
      limits,
      cache: new dd.InventoryCache(cacheDir),
    });
  const results = [];
  const all = [];
  let distro = null;
  try {
    for (const name of names) {
      await analyze(name); // fills the layer cache
      const t = performance.now();
      const doc = await analyze(name);
      const warmInventoryMs = performance.now() - t;
      const invs = dd.inventoriesOf(doc);
      const packages = invs.reduce((s, i) => s + i.packages.length, 0);
      const keys = invs.reduce((s, i) => s + i.packages.flatMap((p) => dd.lookupKeys(p, i.distro)).length, 0);
      const runs = [];
      let findings = 0;
      for (let i = 0; i < RUNS + 1; i++) {
        const t0 = performance.now();
        findings = invs.reduce((s, inv) => s + dd.matchPackages(inv.packages, inv.distro, db).length, 0);
        runs.push(performance.now() - t0);
      }
      results.push({
        name,
        platforms: invs.length,
        packages,
        keys,
        findings,
        warmInventoryMs,
        firstMatchMs: runs[0],
        matchMs: median(runs.slice(1)),
        matchRuns: runs.slice(1),
      });
      for (const inv of invs) {
        all.push(...inv.packages);
        distro ??= inv.distro;
      }
    }
    // 1,000 real packages: every distinct one of the images, repeated at other paths.
    const seen = new Set();
    const distinct = all.filter((p) => {
      const k = `${p.ecosystem}\0${p.name}\0${p.version}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const synthetic = [];
    for (let i = 0; synthetic.length < SYNTHETIC_PACKAGES && distinct.length; i++) {
      const p = distinct[i % distinct.length];
      synthetic.push(
        i < distinct.length ? p : { ...p, path: `/copy${Math.floor(i / distinct.length)}${p.path}` },
      );
    }
    const timeMatch = (pkgs, d) => {
      const runs = [];
      let findings = 0;
      for (let i = 0; i < RUNS + 1; i++) {
        const t0 = performance.now();
        findings = dd.matchPackages(pkgs, d, db).length;
        runs.push(performance.now() - t0);
      }
      return { findings, firstMatchMs: runs[0], matchMs: median(runs.slice(1)), matchRuns: runs.slice(1) };
    };
    // Worst case: 1,000 distinct packages that all have advisories (keys taken round-robin from
    // the database's language ecosystems and Debian 11), at a version below most fixes.
    const ECO = {
      npm: "npm",
      pypi: "pypi",
      golang: "golang",
      gem: "gem",
      cargo: "cargo",
      composer: "composer",
      "debian:11": "deb",
    };
    const VERSION = { golang: "v0.0.1", deb: "0.0.1-1" };
    const byEco = Object.keys(ECO).map((e) =>
      db.db
        .prepare("SELECT DISTINCT package FROM affected WHERE ecosystem = ? ORDER BY package")
        .all(e)
        .map((r) => [e, r.package]),
    );
    const worst = [];
    for (let i = 0; worst.length < SYNTHETIC_PACKAGES && byEco.some((l) => i < l.length); i++) {
      for (const l of byEco) {
        if (i >= l.length || worst.length >= SYNTHETIC_PACKAGES) continue;
        const [eco, name] = l[i];
        const type = ECO[eco];
        const version = VERSION[type] ?? "0.0.1";
        worst.push({
          name,
          version,
          ecosystem: type,
          purl: `pkg:${type}/${name}@${version}`,
          path: `/synthetic/${worst.length}`,
        });
      }
    }
    return {
      images: results,
      synthetic: { packages: synthetic.length, distinct: distinct.length, ...timeMatch(synthetic, distro) },
      worst: {
        packages: worst.length,
        ...timeMatch(worst, { id: "debian", versionId: "11", codename: "bullseye" }),
      },
    };
  } finally {
    db.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** `drydock scan` cold against `drydock sbom` cold, alternating, in new processes. */
async function benchCli(dbPath, names) {
  const results = [];
  const data = mkdtempSync(join(tmpdir(), "drydock-bench-scan-data-"));
  try {
    for (const name of names) {
      const ref = `oci:${join(fixtures, "oci", name)}`;
      const common = ["--no-cache", "--data", data, "--format", "json", "-o", "/dev/null"];
      const sbom = [];
      const scan = [];
      for (let i = 0; i < RUNS; i++) {
        const a = await spawnNode([cli, "sbom", ref, ...common]);
        if (a.code !== 0) throw new Error(`sbom ${name} exited ${a.code}: ${a.err}`);
        sbom.push(a.ms);
        const b = await spawnNode([cli, "scan", ref, "--db", dbPath, "--max-db-age", "1000000", ...common]);
        if (b.code !== 0) throw new Error(`scan ${name} exited ${b.code}: ${b.err}`);
        scan.push(b.ms);
      }
      results.push({ name, sbomMs: median(sbom), scanMs: median(scan), sbomRuns: sbom, scanRuns: scan });
      log(`${name}: sbom ${median(sbom).toFixed(0)} ms, scan ${median(scan).toFixed(0)} ms`);
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  return results;
}

async function main() {
  if (process.argv[2] === "--import") return importChild(process.argv[3]);
  const problems = [];
  if (!existsSync(join(fixtures, "images.tsv")))
    problems.push(`fixtures missing: run ../shared/tools/images/build-images.sh ${fixtures}`);
  if (!existsSync(join(vulndata, "PROVENANCE.md"))) problems.push(`${vulndata} missing`);
  if (!existsSync(cli)) problems.push("dist/ missing: npm run build");
  if (!Number.isInteger(RUNS) || RUNS < 1) problems.push("RUNS must be a positive integer");
  if (problems.length) {
    for (const p of problems) process.stderr.write(`bench:scan cannot run: ${p}\n`);
    process.exit(1);
  }
  const wanted = process.env.IMAGES?.split(",").filter(Boolean);
  const names = readFileSync(join(fixtures, "images.tsv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t")[0])
    .filter((n) => existsSync(join(fixtures, "oci", n, "index.json")) && (!wanted || wanted.includes(n)));
  const load0 = loadavg();
  log(`${names.length} images, RUNS=${RUNS}, IMPORT_RUNS=${IMPORT_RUNS}, load ${load()}`);

  const work = mkdtempSync(join(tmpdir(), "drydock-bench-scan-"));
  try {
    const dbPath = join(work, "vulndb.sqlite");
    log("import of the whole pack");
    const imp = await benchImport(dbPath);
    log(
      `import: ${(imp.ms / 1000).toFixed(1)} s, peak RSS ${mb(imp.maxRssBytes)} MB, ${mb(imp.sizeBytes)} MB`,
    );
    const loadAfterImport = loadavg();

    log("matching (in process, warm inventory cache)");
    const dd = await loadDrydock();
    const matching = await benchMatching(dd, dbPath, names);
    const loadAfterMatching = loadavg();

    log("drydock scan vs drydock sbom (new processes, no layer cache)");
    const cliResults = await benchCli(dbPath, names);
    const load1 = loadavg();

    const pad = (s, n) => String(s).padEnd(n);
    const num = (x, d = 0, w = 8) => x.toFixed(d).padStart(w);
    const out = [];
    out.push(
      `\nimport of ${vulndata}: ${(imp.ms / 1000).toFixed(1)} s, peak RSS ${mb(imp.maxRssBytes)} MB, ` +
        `database ${mb(imp.sizeBytes)} MB, ${imp.feeds} feeds, ${imp.problems} problems` +
        (imp.runs.length > 1 ? ` (median of ${imp.runs.length})` : ""),
    );
    out.push(
      `\n${pad("image", 37)}${"pkgs".padStart(6)}${"keys".padStart(6)}${"finds".padStart(6)}` +
        `${"inv warm".padStart(9)}${"1st ms".padStart(8)}${"match ms".padStart(9)}${"pkgs/ms".padStart(8)}` +
        `${"ms/1000".padStart(8)}`,
    );
    for (const r of matching.images) {
      out.push(
        `${pad(r.name, 37)}${String(r.packages).padStart(6)}${String(r.keys).padStart(6)}${String(r.findings).padStart(6)}` +
          `${num(r.warmInventoryMs, 1, 9)}${num(r.firstMatchMs, 1, 8)}${num(r.matchMs, 1, 9)}` +
          `${num(r.packages / r.matchMs, 1, 8)}${num((r.matchMs / r.packages) * 1000, 0, 8)}`,
      );
    }
    const s = matching.synthetic;
    out.push(
      `${pad(`1,000 real packages (${s.distinct} distinct)`, 37)}${String(s.packages).padStart(6)}${"".padStart(6)}` +
        `${String(s.findings).padStart(6)}${"".padStart(9)}${num(s.firstMatchMs, 1, 8)}${num(s.matchMs, 1, 9)}` +
        `${num(s.packages / s.matchMs, 1, 8)}${num((s.matchMs / s.packages) * 1000, 0, 8)}` +
        `${s.matchMs >= 200 ? "  >= 200 ms" : "  goal < 200 ms: met"}`,
    );
    const w = matching.worst;
    out.push(
      `${pad("1,000 distinct pkgs with advisories", 37)}${String(w.packages).padStart(6)}${"".padStart(6)}` +
        `${String(w.findings).padStart(6)}${"".padStart(9)}${num(w.firstMatchMs, 1, 8)}${num(w.matchMs, 1, 9)}` +
        `${num(w.packages / w.matchMs, 1, 8)}${num((w.matchMs / w.packages) * 1000, 0, 8)}` +
        `${w.matchMs >= 200 ? "  >= 200 ms" : "  goal < 200 ms: met"}`,
    );
    out.push(
      `match ms: median of ${RUNS} in-process matchPackages calls after a first one (1st ms); ms/1000: per 1,000 packages`,
    );
    out.push(
      `\n${pad("image", 37)}${"sbom ms".padStart(9)}${"scan ms".padStart(9)}${"scan/sbom".padStart(10)}${"added".padStart(8)}`,
    );
    for (const r of cliResults) {
      const ratio = r.scanMs / r.sbomMs;
      out.push(
        `${pad(r.name, 37)}${num(r.sbomMs, 0, 9)}${num(r.scanMs, 0, 9)}${num(ratio, 2, 10)}` +
          `${num((ratio - 1) * 100, 1, 7)}%${ratio > 1.1 ? "  > 10%" : ""}`,
      );
    }
    const tot = (k) => cliResults.reduce((a, r) => a + r[k], 0);
    out.push(
      `${pad("all images", 37)}${num(tot("sbomMs"), 0, 9)}${num(tot("scanMs"), 0, 9)}${num(tot("scanMs") / tot("sbomMs"), 2, 10)}` +
        `${num((tot("scanMs") / tot("sbomMs") - 1) * 100, 1, 7)}%`,
    );
    out.push(
      `cold: new process, --no-cache, --format json to /dev/null; medians of ${RUNS} alternating runs (goal: scan adds < 10%)`,
    );
    out.push(
      `\nload average: start ${load0.map((l) => l.toFixed(2)).join(" ")}, after import ${loadAfterImport
        .map((l) => l.toFixed(2))
        .join(" ")}, after matching ${loadAfterMatching.map((l) => l.toFixed(2)).join(" ")}, end ${load1
        .map((l) => l.toFixed(2))
        .join(" ")}; ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ` +
        `${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}`,
    );
    process.stdout.write(out.join("\n") + "\n");

    const outDir = join(repoRoot, "bench/results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, "scan-latest.json"),
      JSON.stringify(
        {
          date: new Date().toISOString(),
          runs: RUNS,
          load: { start: load0, afterImport: loadAfterImport, afterMatching: loadAfterMatching, end: load1 },
          import: imp,
          matching,
          cli: cliResults,
        },
        null,
        2,
      ) + "\n",
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:scan: ${e.stack ?? e}\n`);
  process.exit(1);
});
