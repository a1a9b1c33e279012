#!/usr/bin/env node
// Image inventory benchmark: `analyzeImage` on the built fixture images, against the floor of
// merely decompressing the same layers, in the same process and run.
//
//   npm run bench:inventory           (needs the built fixtures: ../shared/tools/images/build-images.sh)
//
// Environment: RUNS (default 5), DRYDOCK_FIXTURES (default /tmp/drydock-fixtures), IMAGES (comma
// separated subset), CONCURRENCY (layers in flight; default: the number of cores).
//
// For each image, in a child process of its own (so that its peak RSS is its own):
// - floor: every distinct layer blob read and decompressed with what Drydock uses (node:zlib
//   gunzip for gzip, zstd-napi's native decoder for zstd, nothing for plain tar), layers in parallel
//   with the same concurrency as the analysis, the bytes consumed and dropped;
// - cold: `analyzeImage` with an empty layer cache (every layer read, inventoried, cached);
// - warm: `analyzeImage` again with that cache (no layer read), in-process time only.
// Floor and cold alternate RUNS times and medians are taken, so a busy machine hurts both alike.
// Goals (the issue): cold <= 1.3 x floor, warm < 100 ms, peak RSS < 300 MB on the largest image.
// Exits 0 whatever the figures (a benchmark reports, it does not fail); 1 when it cannot run.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir, cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import { fixtureImageNames, log, median, writeResults } from "./common.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = resolve(process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures");
const RUNS = Number(process.env.RUNS ?? 5);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 0) || availableParallelism();
const MB = 1e6;

async function loadDrydock() {
  const dist = join(repoRoot, "dist");
  const [analyze, cache, sources, registry, layer, config] = await Promise.all([
    import(join(dist, "image/analyze.js")),
    import(join(dist, "image/cache.js")),
    import(join(dist, "image/sources/index.js")),
    import(join(dist, "catalog/registry.js")),
    import(join(dist, "image/layer.js")),
    import(join(dist, "config/schema.js")),
  ]);
  return { ...analyze, ...cache, ...sources, ...registry, ...layer, config };
}

/** Decompresses one layer blob the way Drydock does, dropping the bytes. */
async function decompressOnly(dd, file) {
  const fd = createReadStream(file, { highWaterMark: 1024 * 1024, end: 3 });
  let head = Buffer.alloc(0);
  for await (const c of fd) head = Buffer.concat([head, c]);
  const kind = dd.detectCompression(head);
  const src = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let n = 0;
  if (kind === "zstd") {
    // zstd-napi's native decoder, as Drydock's worker drives it: into one reused 1 MiB buffer.
    const zstd = createRequire(import.meta.url)("zstd-napi/binding");
    const dctx = new zstd.DCtx();
    const dst = new Uint8Array(1024 * 1024);
    for await (const chunk of src) {
      let rest = chunk;
      for (;;) {
        const [ret, produced, consumed] = dctx.decompressStream(dst, rest);
        n += produced;
        rest = rest.subarray(consumed);
        if (rest.length === 0 && (produced < dst.length || ret === 0)) break;
      }
    }
    return n;
  }
  const out = kind === "gzip" ? src.pipe(createGunzip({ chunkSize: 256 * 1024 })) : src;
  for await (const c of out) n += c.length;
  return n;
}

/** A scavenge of the young generation (the child runs with --expose-gc). */
const minorGc = () => globalThis.gc?.({ type: "minor" });

async function parallel(items, limit, fn) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      while (queue.length) await fn(queue.shift());
    }),
  );
}

/** One image, in this (child) process: prints one JSON line of figures. */
async function benchOne(name) {
  const dd = await loadDrydock();
  const layout = join(fixtures, "oci", name);
  const limits = (() => {
    const a = dd.config.configSchema?.parse?.({})?.analysis;
    return {
      maxBytes: a?.maxLayerBytes ?? 16 * 1024 ** 3,
      maxEntries: a?.maxLayerEntries ?? 2_000_000,
      maxFileBytes: a?.maxFileBytes ?? 512 * 1024 ** 2,
      maxNestedArchiveBytes: a?.maxNestedArchiveBytes ?? 256 * 1024 ** 2,
    };
  })();
  const source = dd.openImageSource(`oci:${layout}`);
  const resolved = await source.resolve();
  const blobs = [...new Set(resolved.images.flatMap((i) => i.layers.map((l) => l.digest)))].map((d) =>
    join(layout, "blobs", ...d.split(":")),
  );
  const opts = (cache, progress) => ({
    catalogers: dd.catalogers,
    detectors: dd.distroDetectors,
    limits,
    cache,
    concurrency: CONCURRENCY,
    progress,
  });

  const floor = [];
  const cold = [];
  const floorCpu = [];
  const coldCpu = [];
  const cpuMs = (u) => (u.user + u.system) / 1000;
  let bytes = 0;
  let packages = 0;
  let cacheDir = "";
  for (let run = 0; run < RUNS; run++) {
    // Each timed phase starts on a collected young generation: otherwise one phase pays for the
    // garbage the other left (the floor's read buffers are 100+ MiB of it). A minor GC, not a
    // full one: a full gc() also drops V8's optimized code for the tar walk (its maps and type
    // feedback are weakly held), and the next cold run spent 30-45 ms recompiling it, which a
    // running process does not (a CLI run pays that warm-up once; see docs/inventory.md).
    minorGc();
    let t = performance.now();
    let u = process.cpuUsage();
    let n = 0;
    await parallel(blobs, CONCURRENCY, async (b) => {
      const k = await decompressOnly(dd, b);
      n += k;
    });
    floor.push(performance.now() - t);
    floorCpu.push(cpuMs(process.cpuUsage(u)));
    bytes = n;

    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    cacheDir = mkdtempSync(join(tmpdir(), "drydock-bench-inv-"));
    minorGc();
    t = performance.now();
    u = process.cpuUsage();
    const doc = await dd.analyzeImage(
      dd.openImageSource(`oci:${layout}`),
      opts(new dd.InventoryCache(cacheDir)),
    );
    cold.push(performance.now() - t);
    coldCpu.push(cpuMs(process.cpuUsage(u)));
    packages = dd.inventoriesOf(doc).reduce((s, i) => s + i.packages.length, 0);
  }

  const warm = [];
  let fromCache = 0;
  let layersDone = 0;
  for (let run = 0; run < Math.max(5, RUNS); run++) {
    const progress = {
      layerStarted() {},
      bytesRead() {},
      layerDone(_l, c) {
        layersDone++;
        if (c) fromCache++;
      },
    };
    const t = performance.now();
    await dd.analyzeImage(
      dd.openImageSource(`oci:${layout}`),
      opts(new dd.InventoryCache(cacheDir), progress),
    );
    warm.push(performance.now() - t);
  }
  rmSync(cacheDir, { recursive: true, force: true });

  // One more cold run with every cataloger wrapped, to say where main-thread time goes (not
  // timed above: the wrappers cost time of their own).
  const perCataloger = {};
  const wrap = (c) => {
    const s = (perCataloger[c.id] = { matchesMs: 0, parseMs: 0, files: 0, bytes: 0 });
    return {
      ...c,
      matches(path, mode) {
        const t = performance.now();
        const r = c.matches(path, mode);
        s.matchesMs += performance.now() - t;
        return r;
      },
      async parse(file, ctx) {
        const t = performance.now();
        try {
          return await c.parse(file, ctx);
        } finally {
          s.parseMs += performance.now() - t;
          s.files++;
          s.bytes += file.content.length;
        }
      },
    };
  };
  await dd.analyzeImage(dd.openImageSource(`oci:${layout}`), {
    ...opts(undefined),
    catalogers: dd.catalogers.map(wrap),
  });

  const maxRssMB = (process.resourceUsage().maxRSS * 1024) / MB;
  process.stdout.write(
    JSON.stringify({
      name,
      layers: blobs.length,
      bytes,
      packages,
      floorMs: median(floor),
      coldMs: median(cold),
      warmMs: median(warm),
      floorRuns: floor,
      coldRuns: cold,
      warmRuns: warm,
      warmAllFromCache: fromCache === layersDone,
      floorCpuMs: median(floorCpu),
      coldCpuMs: median(coldCpu),
      perCataloger,
      maxRssMB,
    }) + "\n",
  );
}

/** Peak RSS of one cold analysis, alone in a fresh process (what `drydock sbom` costs). */
async function rssOne(name) {
  const dd = await loadDrydock();
  const cacheDir = mkdtempSync(join(tmpdir(), "drydock-bench-rss-"));
  const a = dd.config.configSchema.parse({}).analysis;
  await dd.analyzeImage(dd.openImageSource(`oci:${join(fixtures, "oci", name)}`), {
    catalogers: dd.catalogers,
    detectors: dd.distroDetectors,
    limits: {
      maxBytes: a.maxLayerBytes,
      maxEntries: a.maxLayerEntries,
      maxFileBytes: a.maxFileBytes,
      maxNestedArchiveBytes: a.maxNestedArchiveBytes,
    },
    cache: new dd.InventoryCache(cacheDir),
    concurrency: CONCURRENCY,
  });
  rmSync(cacheDir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB }) + "\n");
}

function runChild(name, mode = "--one") {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), mode, name], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on("exit", (code) => {
      if (code !== 0) return rej(new Error(`${name}: child exited with ${code}`));
      res(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

async function main() {
  if (process.argv[2] === "--one") return benchOne(process.argv[3]);
  if (process.argv[2] === "--rss") return rssOne(process.argv[3]);
  const problems = [];
  if (!existsSync(join(fixtures, "images.tsv")))
    problems.push(`fixtures missing: run ../shared/tools/images/build-images.sh ${fixtures}`);
  if (!existsSync(join(repoRoot, "dist/image/analyze.js"))) problems.push("dist/ missing: npm run build");
  if (!Number.isInteger(RUNS) || RUNS < 1) problems.push("RUNS must be a positive integer");
  if (problems.length) {
    for (const p of problems) process.stderr.write(`bench:inventory cannot run: ${p}\n`);
    process.exit(1);
  }
  const names = fixtureImageNames(fixtures);
  const load0 = loadavg();
  log(
    `${names.length} images, RUNS=${RUNS}, concurrency ${CONCURRENCY}, load ${load0.map((l) => l.toFixed(2)).join(" ")}`,
  );
  const results = [];
  for (const name of names) {
    log(name);
    const r = await runChild(name);
    r.benchRssMB = r.maxRssMB;
    r.maxRssMB = (await runChild(name, "--rss")).maxRssMB;
    results.push(r);
  }
  const load1 = loadavg();
  const pad = (s, n) => String(s).padEnd(n);
  const num = (x, d = 0, w = 8) => x.toFixed(d).padStart(w);
  process.stdout.write(
    `\n${pad("image", 37)}${"layers".padStart(6)}${"MB tar".padStart(7)}${"pkgs".padStart(5)}` +
      `${"floor ms".padStart(9)}${"cold ms".padStart(8)}${"ratio".padStart(6)}` +
      `${"floor cpu".padStart(10)}${"cold cpu".padStart(9)}${"ratio".padStart(6)}` +
      `${"warm ms".padStart(8)}${"RSS MB".padStart(7)}\n`,
  );
  for (const r of results) {
    const ratio = r.coldMs / r.floorMs;
    process.stdout.write(
      `${pad(r.name, 37)}${String(r.layers).padStart(6)}${num(r.bytes / MB, 0, 7)}${String(r.packages).padStart(5)}` +
        `${num(r.floorMs, 0, 9)}${num(r.coldMs, 0, 8)}${num(ratio, 2, 6)}` +
        `${num(r.floorCpuMs, 0, 10)}${num(r.coldCpuMs, 0, 9)}${num(r.coldCpuMs / r.floorCpuMs, 2, 6)}` +
        `${num(r.warmMs, 1, 8)}${num(r.maxRssMB, 0, 7)}` +
        `${ratio > 1.3 ? "  ratio > 1.3" : ""}${r.warmMs >= 100 ? "  warm >= 100 ms" : ""}` +
        `${r.warmAllFromCache ? "" : "  warm run read a layer"}${r.maxRssMB >= 300 ? "  RSS >= 300 MB" : ""}\n`,
    );
  }
  process.stdout.write(
    `\nfloor: decompress only (wall ms; cpu = user+sys of all threads, ms); cold: analyzeImage, empty cache;\n` +
      `warm: analyzeImage, every layer cached; medians of ${RUNS} alternating runs (warm: ${Math.max(5, RUNS)});\n` +
      `RSS: peak of one cold analysis alone in a fresh process (the benchmark's own process peaks higher)\n`,
  );
  process.stdout.write(
    `\nmain-thread time per cataloger (one extra cold run, wrapped), ms: matches() / parse() [files, MB]\n`,
  );
  for (const r of results) {
    const top = Object.entries(r.perCataloger)
      .map(([id, c]) => ({ id, ...c, total: c.matchesMs + c.parseMs }))
      .sort((a, b) => b.total - a.total)
      .slice(0, 4)
      .map(
        (c) =>
          `${c.id} ${c.matchesMs.toFixed(0)}/${c.parseMs.toFixed(0)} [${c.files}, ${(c.bytes / MB).toFixed(1)}]`,
      );
    process.stdout.write(`  ${pad(r.name, 37)}${top.join("; ")}\n`);
  }
  const largest = results.reduce((a, b) => (b.bytes > a.bytes ? b : a), results[0]);
  process.stdout.write(
    `\nlargest image ${largest.name}: peak RSS ${largest.maxRssMB.toFixed(0)} MB; ` +
      `load average before ${load0.map((l) => l.toFixed(2)).join(" ")}, after ${load1.map((l) => l.toFixed(2)).join(" ")}; ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}\n`,
  );
  writeResults("inventory", {
    date: new Date().toISOString(),
    runs: RUNS,
    concurrency: CONCURRENCY,
    load: [load0, load1],
    results,
  });
}

main().catch((e) => {
  process.stderr.write(`bench:inventory: ${e.stack ?? e}\n`);
  process.exit(1);
});
