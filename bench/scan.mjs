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
//    `matchPackages` against the database max(RUNS, 7) times (the first call is reported
//    apart: it pays for statement and parse caches). Also two 1,000-package inventories: the
//    real packages of all the images (distinct name/version/ecosystem, repeated at other paths
//    up to 1,000), goal under 200 ms; and a worst case, 1,000 distinct packages that all have
//    advisories (database keys of the language ecosystems and Debian 11 at version 0.0.1).
// 3. CLI: `drydock scan IMG --no-cache` against `drydock sbom IMG --no-cache` (both cold: a new
//    process, no layer cache), alternating, RUNS times each: goal, matching adds under 10%.
// Exits 0 whatever the figures (a benchmark reports, it does not fail); 1 when it cannot run.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { fixtureImageNames, log, median, writeResults } from "./common.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(repoRoot, "dist");
const cli = join(dist, "cli/main.js");
const fixtures = resolve(process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures");
const vulndata = resolve(process.env.DRYDOCK_SHARED ?? join(repoRoot, "../shared"), "vulndata");
const RUNS = Number(process.env.RUNS ?? 3);
const IMPORT_RUNS = Number(process.env.IMPORT_RUNS ?? 1);
const SYNTHETIC_PACKAGES = 1000;
/** In-process matching is cheap: more repeats for a steadier median on a busy machine. */
const MATCH_RUNS = Math.max(RUNS, 7);

const mb = (n) => (n / 1e6).toFixed(1);
const cpuMsSince = (c0) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
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

const GNU_TIME = "/usr/bin/time";

/**
 * Runs node with `args`: wall time, and when GNU time is there, the child's CPU time (user +
 * system, all threads) and peak RSS. CPU time is what a busy shared machine disturbs least.
 */
function spawnNode(args, { capture = false, cpu = false } = {}) {
  return new Promise((res, rej) => {
    const timeFile =
      cpu && existsSync(GNU_TIME)
        ? join(tmpdir(), `drydock-bench-time-${process.pid}-${Math.random()}`)
        : null;
    const [cmd, argv] = timeFile
      ? [GNU_TIME, ["-f", "%U %S %M", "-o", timeFile, process.execPath, ...args]]
      : [process.execPath, args];
    const t0 = performance.now();
    const child = spawn(cmd, argv, { stdio: ["ignore", capture ? "pipe" : "ignore", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("error", rej);
    child.on("exit", (code) => {
      const ms = performance.now() - t0;
      let cpuMs;
      let maxRssBytes;
      if (timeFile && existsSync(timeFile)) {
        const [u, sy, rss] = readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
        rmSync(timeFile, { force: true });
        cpuMs = (u + sy) * 1000;
        maxRssBytes = rss * 1024;
      }
      res({ code, ms, cpuMs, maxRssBytes, out, err });
    });
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
      const cpuRuns = [];
      let findings = 0;
      for (let i = 0; i < MATCH_RUNS + 1; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        findings = invs.reduce((s, inv) => s + dd.matchPackages(inv.packages, inv.distro, db).length, 0);
        runs.push(performance.now() - t0);
        cpuRuns.push(cpuMsSince(c0));
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
        matchCpuMs: median(cpuRuns.slice(1)),
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
      const cpuRuns = [];
      let findings = 0;
      for (let i = 0; i < MATCH_RUNS + 1; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        findings = dd.matchPackages(pkgs, d, db).length;
        runs.push(performance.now() - t0);
        cpuRuns.push(cpuMsSince(c0));
      }
      return {
        findings,
        firstMatchMs: runs[0],
        matchMs: median(runs.slice(1)),
        matchCpuMs: median(cpuRuns.slice(1)),
        matchRuns: runs.slice(1),
      };
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
      const runSbom = async () => {
        const a = await spawnNode([cli, "sbom", ref, ...common], { cpu: true });
        if (a.code !== 0) throw new Error(`sbom ${name} exited ${a.code}: ${a.err}`);
        sbom.push(a);
      };
      const runScan = async () => {
        const b = await spawnNode([cli, "scan", ref, "--db", dbPath, "--max-db-age", "1000000", ...common], {
          cpu: true,
        });
        if (b.code !== 0) throw new Error(`scan ${name} exited ${b.code}: ${b.err}`);
        scan.push(b);
      };
      // Alternating, and swapping which goes first, so that neither always follows the other
      // (page cache, CPU frequency, a neighbour's burst).
      for (let i = 0; i < RUNS; i++) {
        if (i % 2 === 0) {
          await runSbom();
          await runScan();
        } else {
          await runScan();
          await runSbom();
        }
      }
      const med = (xs, k) => (xs.every((x) => x[k] !== undefined) ? median(xs.map((x) => x[k])) : undefined);
      results.push({
        name,
        sbomMs: med(sbom, "ms"),
        scanMs: med(scan, "ms"),
        sbomCpuMs: med(sbom, "cpuMs"),
        scanCpuMs: med(scan, "cpuMs"),
        sbomRssBytes: med(sbom, "maxRssBytes"),
        scanRssBytes: med(scan, "maxRssBytes"),
        sbomRuns: sbom.map(({ ms, cpuMs }) => ({ ms, cpuMs })),
        scanRuns: scan.map(({ ms, cpuMs }) => ({ ms, cpuMs })),
      });
      log(`${name}: sbom ${med(sbom, "ms").toFixed(0)} ms, scan ${med(scan, "ms").toFixed(0)} ms`);
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
  const names = fixtureImageNames(fixtures);
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
    const row = (label, r, keys) =>
      `${pad(label, 37)}${String(r.packages).padStart(6)}${String(keys ?? "").padStart(6)}${String(r.findings).padStart(6)}` +
      `${num(r.firstMatchMs, 1, 8)}${num(r.matchMs, 1, 9)}${num(r.matchCpuMs, 1, 8)}` +
      `${num((r.matchMs / r.packages) * 1000, 0, 9)}${num((r.matchCpuMs / r.packages) * 1000, 0, 9)}`;
    out.push(
      `\n${pad("matching (in process)", 37)}${"pkgs".padStart(6)}${"keys".padStart(6)}${"finds".padStart(6)}` +
        `${"1st ms".padStart(8)}${"match ms".padStart(9)}${"cpu ms".padStart(8)}` +
        `${"ms/1000".padStart(9)}${"cpu/1000".padStart(9)}`,
    );
    for (const r of matching.images) out.push(row(r.name, r, r.keys));
    const s = matching.synthetic;
    const goal = (r) =>
      r.matchMs < 200 ? "  < 200 ms" : r.matchCpuMs < 200 ? "  cpu < 200 ms" : "  >= 200 ms";
    out.push(row(`1,000 real packages (${s.distinct} distinct)`, s) + goal(s));
    out.push(row("1,000 distinct, all with advisories", matching.worst) + goal(matching.worst));
    out.push(
      `median of ${MATCH_RUNS} matchPackages calls after a first one (1st ms), wall and CPU; per 1,000 packages: ` +
        `ms/1000, cpu/1000 (goal: < 200 ms for 1,000 packages)`,
    );
    const hasCpu = cliResults.every((r) => r.scanCpuMs !== undefined);
    out.push(
      `\n${pad("drydock scan vs sbom (cold)", 37)}${"sbom ms".padStart(9)}${"scan ms".padStart(9)}${"ratio".padStart(7)}` +
        (hasCpu
          ? `${"sbom cpu".padStart(10)}${"scan cpu".padStart(10)}${"ratio".padStart(7)}${"RSS MB".padStart(8)}`
          : ""),
    );
    const line = (label, r) =>
      `${pad(label, 37)}${num(r.sbomMs, 0, 9)}${num(r.scanMs, 0, 9)}${num(r.scanMs / r.sbomMs, 2, 7)}` +
      (hasCpu
        ? `${num(r.sbomCpuMs, 0, 10)}${num(r.scanCpuMs, 0, 10)}${num(r.scanCpuMs / r.sbomCpuMs, 2, 7)}` +
          `${r.scanRssBytes ? num(r.scanRssBytes / 1e6, 0, 8) : ""}`
        : "");
    for (const r of cliResults) out.push(line(r.name, r));
    const tot = (k) => cliResults.reduce((a, r) => a + (r[k] ?? 0), 0);
    out.push(
      line("all images", {
        sbomMs: tot("sbomMs"),
        scanMs: tot("scanMs"),
        sbomCpuMs: tot("sbomCpuMs"),
        scanCpuMs: tot("scanCpuMs"),
      }),
    );
    out.push(
      `new process each, --no-cache, --format json to /dev/null; medians of ${RUNS} alternating runs; ` +
        `cpu = user+sys of all threads (GNU time), RSS = scan's peak (goal: scan adds < 10%)`,
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

    writeResults("scan", {
      date: new Date().toISOString(),
      runs: RUNS,
      load: { start: load0, afterImport: loadAfterImport, afterMatching: loadAfterMatching, end: load1 },
      import: imp,
      matching,
      cli: cliResults,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:scan: ${e.stack ?? e}\n`);
  process.exit(1);
});
