#!/usr/bin/env node
// Vulnerability database benchmark: `drydock db import` of the whole pack in ../shared/vulndata
// (time, peak RSS, database size, time per feed), then the read API the matchers use
// (advisoriesFor over every package key, enrichment over every CVE alias).
//
//   npm run build && node bench/vulndb.mjs
//
// Environment: RUNS (imports, default 3; the median is reported), DRYDOCK_SHARED (default
// ../shared), KEEP=1 keeps the built database in bench/results/vulndb.sqlite.
//
// Each import runs in a child process of its own, so its peak RSS is its own. Figures only:
// exits 0 whatever they are (a benchmark reports, it does not fail); 1 when it cannot run.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { log, median, writeResults, resultsDir } from "./common.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const vulndata = resolve(process.env.DRYDOCK_SHARED ?? join(repoRoot, "../shared"), "vulndata");
const RUNS = Number(process.env.RUNS ?? 3);
const dist = join(repoRoot, "dist");

const mb = (n) => (n / 1e6).toFixed(1);

/** Child mode: one import, reporting its figures as JSON on stdout. */
async function child(target) {
  const { buildDatabase } = await import(join(dist, "vulndb/build.js"));
  const { listSources } = await import(join(dist, "vulndb/sources.js"));
  const { importers, mirrorPaths } = await import(join(dist, "vulndb/importers/registry.js"));
  const t0 = performance.now();
  const sources = await listSources([vulndata], mirrorPaths());
  const report = await buildDatabase({ target, sources, importers, fresh: true });
  const ms = performance.now() - t0;
  process.stdout.write(
    JSON.stringify({
      ms,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      sizeBytes: statSync(target).size,
      problems: report.problems,
      feeds: report.feeds.map((f) => ({ id: f.id, records: f.records, ms: f.durationMs })),
    }),
  );
}

function runChild(target) {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child", target], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (c) => (out += c));
    p.on("error", rej);
    p.on("close", (code) =>
      code === 0 ? res(JSON.parse(out)) : rej(new Error(`import child exited ${code}`)),
    );
  });
}

/** The read side, in this process: every package key once, every CVE alias once. */
async function lookups(target) {
  const { VulnDb } = await import(join(dist, "vulndb/db.js"));
  const { cvesOf } = await import(join(dist, "vulndb/ecosystems.js"));
  const db = VulnDb.open(target);
  const keys = db.db.prepare("SELECT DISTINCT ecosystem, package FROM affected").all();
  let advisories = 0;
  const cves = new Set();
  let t0 = performance.now();
  for (const k of keys) {
    for (const a of db.advisoriesFor(k.ecosystem, k.package)) {
      advisories++;
      for (const c of cvesOf(a)) cves.add(c);
    }
  }
  const keyMs = performance.now() - t0;
  const ids = [...cves];
  t0 = performance.now();
  let found = 0;
  for (let i = 0; i < ids.length; i += 50) found += db.enrichment(ids.slice(i, i + 50)).size;
  const cveMs = performance.now() - t0;
  db.close();
  return { keys: keys.length, advisories, keyMs, cves: ids.length, found, cveMs };
}

async function main() {
  if (!existsSync(join(vulndata, "PROVENANCE.md"))) {
    log(`../shared/vulndata not found at ${vulndata}`);
    process.exit(1);
  }
  if (!existsSync(join(dist, "vulndb/build.js"))) {
    log("dist/ missing: run npm run build first");
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), "drydock-bench-vulndb-"));
  const load0 = loadavg().map((x) => +x.toFixed(2));
  const runs = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const target = join(work, `run${i}.sqlite`);
      log(`import ${i + 1}/${RUNS} of ${vulndata}`);
      runs.push(await runChild(target));
      if (i < RUNS - 1) rmSync(target, { force: true });
    }
    const last = join(work, `run${RUNS - 1}.sqlite`);
    log("lookups");
    const read = await lookups(last);
    const load1 = loadavg().map((x) => +x.toFixed(2));

    const ms = median(runs.map((r) => r.ms));
    const rss = median(runs.map((r) => r.maxRssBytes));
    const size = runs[runs.length - 1].sizeBytes;
    process.stdout.write(
      `vulndb import of ${vulndata} (${RUNS} runs, ${availableParallelism()} cores, load ${load0.join(" ")})\n` +
        `  time ${(ms / 1000).toFixed(1)} s (runs: ${runs.map((r) => (r.ms / 1000).toFixed(1)).join(", ")})\n` +
        `  peak RSS ${mb(rss)} MB, database ${mb(size)} MB, ${runs[0].problems} problems\n` +
        `  slowest feeds: ${[...runs[runs.length - 1].feeds]
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 5)
          .map((f) => `${f.id} ${(f.ms / 1000).toFixed(1)} s`)
          .join("; ")}\n` +
        `vulndb reads\n` +
        `  advisoriesFor: ${read.keys} package keys in ${read.keyMs.toFixed(0)} ms ` +
        `(${((read.keyMs * 1000) / read.keys).toFixed(1)} µs per key, ${read.advisories} advisories)\n` +
        `  enrichment: ${read.cves} CVEs in ${read.cveMs.toFixed(0)} ms ` +
        `(${((read.cveMs * 1000) / read.cves).toFixed(1)} µs per CVE, ${read.found} known)\n`,
    );
    writeResults("vulndb", {
      date: new Date().toISOString(),
      runs: RUNS,
      load: [load0, load1],
      import: { ms, maxRssBytes: rss, sizeBytes: size, runs },
      read,
    });
    if (process.env.KEEP) renameSync(last, join(resultsDir, "vulndb.sqlite"));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") await child(process.argv[3]);
else await main();
