#!/usr/bin/env node
// Console benchmark (issue 14, "Speed"): the console's API pages and its first render at scale.
//
//   npm run bench:console              (needs the built fixtures, ../shared/vulndata, Debian chromium)
//   SCALE=0.01 npm run bench:console   (1,000 images, for development)
//
// Environment: SCALE (default 1: 100,000 images, about 1.06 million findings), SEED (default 11),
// BENCH_WORKDIR (default /tmp/drydock-bench-rematch: the synthetic registry of bench:rematch,
// generated there when missing and kept, shared by both benchmarks), ROUNDS (default 20),
// BROWSER_RUNS (default 5), REGISTRY=FILE (a registry an earlier run generated), DRYDOCK_DIST.
//
// 1. The registry: bench:rematch's synthetic one (bench/synthetic-registry.mjs: 2,000 base stacks
//    of Debian 12 with npm, PyPI, Maven and Go applications, 10,000 repositories of 10 images,
//    every image scanned ENHANCED through the stores). A copy is migrated by the current build
//    (timed) and given a LIFETIME rescan window (its pushes are months old: the default 90 days
//    would expire every image in the background while the pages are measured) and every image's
//    scan state (ACTIVE, through the ScanStore: the generator writes findings only).
// 2. A real `drydock serve` on that copy (its database matched: no re-match at start), with an
//    administrator and a restricted user (pull on team-00*/*: 500 repositories of 10,000). Once it
//    is idle, ROUNDS rounds of every console API page, each round with other parameters drawn
//    from the registry (seeded), signed in as the administrator (no repository filter) and, for
//    the lists, as the restricted user; interleaved with two references measured in the same
//    rounds: GET /healthz (the HTTP floor) and an Inspector2 ListFindings page of 50 findings of a
//    repository through the AWS SDK (the API the console stands beside).
//    Not measured: an image's layers, packages, referrers and downloads, which read the image's
//    manifest and config blobs (the synthetic registry has rows, not blobs).
// 3. Chromium (Debian's, through playwright-core): the dashboard's time to first render, from
//    navigation start to its figures shown (no request pending, no loading placeholder), cold
//    (a new browser context each time) and warm (reloaded); its first contentful paint. Then the
//    main views at this scale, each rendered once and photographed (test-results/console/bench-*.png).
// 4. The first page's bundle: what index.html loads (entry script, preloaded modules,
//    stylesheets), gzipped at level 9; the whole of web/dist/assets beside it.
// Goals (the issue): every API page p95 < 300 ms; first page < 300 KB gzipped.
// Exits 0 whatever the figures (a benchmark reports); 1 when it cannot run.
/* global document, localStorage */ // in the functions Chromium evaluates
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { Buffer } from "node:buffer";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import {
  fmt,
  freePort,
  loadavg,
  log,
  MB,
  pct,
  prng,
  procCpuSeconds,
  procMemory,
  sleep,
  table,
  writeResults,
} from "./common.mjs";
import { dist, ensureRegistry, fixturesDir, registryShape, vulndata } from "./synthetic-registry.mjs";

const self = fileURLToPath(import.meta.url);
const repoRoot = resolve(self, "../..");
const WORK = resolve(process.env.BENCH_WORKDIR ?? "/tmp/drydock-bench-rematch");
const SCALE = Number(process.env.SCALE ?? 1);
const SEED = Number(process.env.SEED ?? 11);
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const BROWSER_RUNS = Number(process.env.BROWSER_RUNS ?? 5);
const GOAL_MS = 300;
const GOAL_BUNDLE = 300 * 1024;
const ACCOUNT = "123456789012";
const ADMIN = { username: "admin", password: "bench-admin-password" };
const RESTRICTED = { username: "team00", password: "bench-team00-password", pattern: "team-00*/*" };
const KEY = { accessKeyId: "AKIABENCHCONSOLE0001", secretAccessKey: "bench-console-secret-0123456789" };
const webDist = join(repoRoot, "web", "dist");
const chromiumPath = process.env.DRYDOCK_CHROMIUM ?? "/usr/bin/chromium";
/** Where the views at scale are photographed (git-ignored; docs/console/ keeps a few). */
const screenshots = join(repoRoot, "test-results", "console");

// ---- 1. the data directory --------------------------------------------------------------------

/** Child: migrates the copy with the current build and sets a LIFETIME rescan window; prints the time. */
async function prepareChild(metaPath) {
  const { openSqliteMetaStore } = await import(join(dist, "storage/meta/sqlite.js"));
  const { writeEcrConfiguration } = await import(join(dist, "scan/window.js"));
  const t0 = performance.now();
  const meta = await openSqliteMetaStore(metaPath);
  const migrateMs = performance.now() - t0;
  await writeEcrConfiguration(meta, { rescanDuration: "LIFETIME" }, Date.now());
  // Every image's scan state, as the scan service leaves an ENHANCED image under continuous
  // scanning (the generator records findings only): the images view's status column and the
  // dashboard's coverage then read 100,000 states, as they would in a real registry.
  const t1 = performance.now();
  const Database = (await import("better-sqlite3")).default;
  const sq = new Database(metaPath, { readonly: true });
  const images = sq.prepare("SELECT repository_id AS r, digest AS d FROM manifests ORDER BY 1, 2").all();
  const counts = new Map();
  for (const c of sq
    .prepare(
      "SELECT repository_id AS r, digest AS d, severity, count FROM image_finding_counts WHERE status = 'ACTIVE'",
    )
    .iterate()) {
    const k = `${c.r} ${c.d}`;
    counts.set(k, { ...counts.get(k), [c.severity]: c.count });
  }
  sq.close();
  for (let i = 0; i < images.length; i += 1000) {
    await meta.tx(async (tx) => {
      for (const { r, d } of images.slice(i, i + 1000)) {
        await tx.scans.markStarted(r, d, "ENHANCED", "PENDING");
        await tx.scans.markCompleted(r, d, {
          status: "ACTIVE",
          description: "Continuous scan is selected for image.",
          severityCounts: counts.get(`${r} ${d}`) ?? {},
          vulnerabilitySourceUpdatedAt: Date.now(),
        });
      }
    });
  }
  const scanStatesMs = performance.now() - t1;
  await meta.close();
  process.stdout.write(JSON.stringify({ migrateMs, scanStatesMs, scanStates: images.length }) + "\n");
}

function jsonChild(args) {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [self, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.on("exit", (code) =>
      code === 0
        ? res(JSON.parse(out.trim().split("\n").pop()))
        : rej(new Error(`${args[0]} exited ${code}`)),
    );
  });
}

async function prepareDataDir(registryDb, vulndbPath) {
  const dir = join(WORK, "console-run");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "vulndb"), { recursive: true });
  copyFileSync(registryDb, join(dir, "meta.db"));
  // the database the registry was matched with, and its snapshot: nothing to re-match at start
  const db = join(dir, "vulndb", "vulndb.sqlite");
  copyFileSync(vulndbPath, db);
  linkSync(db, `${db}.matched`);
  const prep = await jsonChild(["--prepare", join(dir, "meta.db")]);
  return { dir, ...prep };
}

// ---- 2. the server ----------------------------------------------------------------------------

async function startServer(dir) {
  const bcrypt = (await import("bcryptjs")).default;
  const port = await freePort();
  const config = join(WORK, "console-config.json");
  writeFileSync(
    config,
    JSON.stringify({
      auth: {
        users: [
          {
            username: ADMIN.username,
            passwordHash: bcrypt.hashSync(ADMIN.password, 4),
            access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
          },
          {
            username: RESTRICTED.username,
            passwordHash: bcrypt.hashSync(RESTRICTED.password, 4),
            access: [{ repository: RESTRICTED.pattern, actions: ["pull"] }],
          },
        ],
      },
      aws: { accountId: ACCOUNT, credentials: [{ ...KEY, user: ADMIN.username }] },
      vulndb: { updateIntervalHours: 0 },
      lifecycle: { intervalHours: 0 },
    }),
  );
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(dist, "cli/main.js"),
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--data",
      dir,
      "--config",
      config,
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr.on("data", (c) => (err = (err + c).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`drydock serve exited ${child.exitCode}:\n${err}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (performance.now() - t0 > 300_000) throw new Error(`drydock serve did not start:\n${err}`);
    await sleep(100);
  }
  const startMs = performance.now() - t0;
  return {
    url,
    child,
    startMs,
    logs: () => err,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once("exit", () => r());
        child.kill("SIGTERM");
      }),
  };
}

/** Waits until the server used under 5% of a core for 2 s (its start-up work done); at most `ms`. */
async function waitIdle(pid, ms = 180_000) {
  const t0 = performance.now();
  for (;;) {
    const c0 = procCpuSeconds(pid);
    await sleep(2000);
    const busy = (procCpuSeconds(pid) - c0) / 2;
    if (busy < 0.05 || performance.now() - t0 > ms) return { ms: performance.now() - t0, busy };
  }
}

/** A signed-in console client: cookie and CSRF token. */
async function signIn(url, who) {
  const r = await fetch(`${url}/api/console/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: who.username, password: who.password }),
  });
  if (!r.ok) throw new Error(`sign-in of ${who.username}: ${r.status} ${await r.text()}`);
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const session = await (await fetch(`${url}/api/console/session`, { headers: { cookie } })).json();
  return { cookie, csrf: session.csrfToken, user: who.username };
}

/** One timed GET; throws on anything but 200 (a fast error is no measurement). */
async function timedGet(url, path, client) {
  const t = performance.now();
  const r = await fetch(url + path, { headers: client ? { cookie: client.cookie } : {} });
  const body = await r.arrayBuffer();
  const ms = performance.now() - t;
  if (r.status !== 200)
    throw new Error(`GET ${path}: ${r.status} ${Buffer.from(body).toString().slice(0, 300)}`);
  return { ms, bytes: body.byteLength, body };
}

// ---- 3. parameters drawn from the registry ----------------------------------------------------------

async function samples(metaPath) {
  const Database = (await import("better-sqlite3")).default;
  const sq = new Database(metaPath, { readonly: true });
  const col = (q, ...a) =>
    sq
      .prepare(q)
      .pluck()
      .all(...a);
  const repos = col("SELECT name FROM repositories WHERE name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name");
  const restrictedRepos = repos.filter((n) => /^team-00\d\d\//.test(n));
  // images with findings, the largest first (the image page with the most rows to choose from)
  const images = sq
    .prepare(
      `SELECT r.name AS repository, f.digest, count(*) AS n FROM findings f JOIN repositories r ON r.id = f.repository_id
        GROUP BY f.repository_id, f.digest ORDER BY n DESC LIMIT 2000`,
    )
    .all();
  const vulns = sq
    .prepare(
      "SELECT vulnerability_id AS id, count(*) AS n FROM findings GROUP BY vulnerability_id ORDER BY n DESC",
    )
    .all();
  sq.close();
  return { repos, restrictedRepos, images, vulns };
}

// ---- 4. the pages -------------------------------------------------------------------------------

const enc = encodeURIComponent;

/**
 * The console's API pages, each a function of a seeded draw: [name, client ("admin" |
 * "restricted"), () => path]. The paths are the areas' routes (src/api/console/*.ts).
 */
function pages(s, rand) {
  const any = (list) => list[Math.floor(rand() * list.length)];
  const top = (list, n) => list[Math.floor(rand() * Math.min(n, list.length))];
  const image = (i, rest = "") => `/api/console/images/${i.digest}${rest}?repository=${enc(i.repository)}`;
  return [
    ["repositories by name", "admin", () => "/api/console/repositories?sort=name&order=asc&limit=50"],
    [
      "repositories by name, a later page",
      "admin",
      () => `/api/console/repositories?sort=name&order=asc&limit=50&offset=${50 * Math.floor(rand() * 190)}`,
    ],
    [
      "repositories by critical",
      "admin",
      () => "/api/console/repositories?sort=critical&order=desc&limit=50",
    ],
    [
      "repositories by findings",
      "admin",
      () => "/api/console/repositories?sort=findings&order=desc&limit=50",
    ],
    [
      "repositories by last push",
      "admin",
      () => "/api/console/repositories?sort=lastPush&order=desc&limit=50",
    ],
    [
      "repositories, search",
      "admin",
      () =>
        `/api/console/repositories?search=${enc(any(["node", "java-svc-3", "team-01", "python"]))}&sort=name&limit=50`,
    ],
    [
      "repositories by critical (restricted user)",
      "restricted",
      () => "/api/console/repositories?sort=critical&order=desc&limit=50",
    ],
    ["images of a repository", "admin", () => `/api/console/images?repository=${enc(any(s.repos))}&limit=50`],
    [
      "images of a repository by critical",
      "admin",
      () => `/api/console/images?repository=${enc(any(s.repos))}&limit=50&sort=critical&order=desc`,
    ],
    [
      "images of a repository (restricted user)",
      "restricted",
      () => `/api/console/images?repository=${enc(any(s.restrictedRepos))}&limit=50`,
    ],
    ["image details", "admin", () => image(any(s.images))],
    [
      "findings of an image (most findings)",
      "admin",
      () => `${image(top(s.images, 50), "/findings")}&limit=50&sort=severity&order=desc`,
    ],
    [
      "findings of an image",
      "admin",
      () => `${image(any(s.images), "/findings")}&limit=50&sort=severity&order=desc`,
    ],
    [
      "a vulnerability (most widespread)",
      "admin",
      () => `/api/console/vulnerabilities/${enc(top(s.vulns, 10).id)}`,
    ],
    ["a vulnerability", "admin", () => `/api/console/vulnerabilities/${enc(any(s.vulns).id)}`],
    [
      "affected images of a vulnerability (most widespread)",
      "admin",
      () => `/api/console/vulnerabilities/${enc(top(s.vulns, 10).id)}/images?limit=50`,
    ],
    [
      "affected images of a vulnerability",
      "admin",
      () => `/api/console/vulnerabilities/${enc(any(s.vulns).id)}/images?limit=50`,
    ],
    [
      "affected images (restricted user)",
      "restricted",
      () => `/api/console/vulnerabilities/${enc(top(s.vulns, 10).id)}/images?limit=50`,
    ],
    // the dashboard is cached 60 s per caller and range: a range drawn each round is computed
    ["dashboard, 30 days (cached after the first)", "admin", () => "/api/console/dashboard"],
    [
      "dashboard, days drawn 7-365 (computed)",
      "admin",
      () => `/api/console/dashboard?days=${7 + Math.floor(rand() * 359)}`,
    ],
    [
      "dashboard, days drawn (restricted user)",
      "restricted",
      () => `/api/console/dashboard?days=${7 + Math.floor(rand() * 359)}`,
    ],
    [
      "scanning preview",
      "admin",
      () =>
        `/api/console/scanning/preview?scanType=ENHANCED&rules=${enc(
          JSON.stringify([
            { scanFrequency: "CONTINUOUS_SCAN", filters: [any(["team-0*", "*node*", "prod", "*-svc-1"])] },
            { scanFrequency: "SCAN_ON_PUSH", filters: ["*"] },
          ]),
        )}&limit=50`,
    ],
  ];
}

async function measureApi(server, s) {
  const clients = {
    admin: await signIn(server.url, ADMIN),
    restricted: await signIn(server.url, RESTRICTED),
  };
  const { Inspector2Client, ListFindingsCommand } = await import("@aws-sdk/client-inspector2");
  const inspector = new Inspector2Client({
    endpoint: server.url,
    region: "us-east-1",
    credentials: KEY,
    maxAttempts: 1,
  });
  const rand = prng(SEED + 14);
  const list = pages(s, rand);
  const refs = [
    ["reference: GET /healthz", async () => (await timedGet(server.url, "/healthz")).ms],
    [
      "reference: Inspector2 ListFindings, a repository, 50",
      async () => {
        const repo = s.repos[Math.floor(rand() * s.repos.length)];
        const t = performance.now();
        await inspector.send(
          new ListFindingsCommand({
            maxResults: 50,
            filterCriteria: { ecrImageRepositoryName: [{ comparison: "EQUALS", value: repo }] },
            sortCriteria: { field: "SEVERITY", sortOrder: "DESC" },
          }),
        );
        return performance.now() - t;
      },
    ],
  ];
  const times = Object.fromEntries([...list, ...refs].map(([k]) => [k, []]));
  /** The warm-up round's time of each page (a cold cache, the first of its kind). */
  const first = {};
  const bytes = Object.fromEntries(list.map(([k]) => [k, []]));
  const failed = {};
  for (let round = -1; round < ROUNDS; round++) {
    for (const [name, who, path] of list) {
      if (failed[name]) continue;
      // a page far over the goal is measured 5 times, not ROUNDS (the run stays bounded)
      if (round >= 5 && first[name] > 10 * GOAL_MS) continue;
      try {
        const r = await timedGet(server.url, path(), clients[who]);
        if (round < 0) first[name] = r.ms;
        else {
          times[name].push(r.ms);
          bytes[name].push(r.bytes);
        }
      } catch (e) {
        failed[name] = String(e.message ?? e).slice(0, 300);
        log(`  ${name}: ${failed[name]}`);
      }
    }
    for (const [name, f] of refs) {
      if (failed[name]) continue;
      try {
        const ms = await f();
        if (round >= 0) times[name].push(ms);
      } catch (e) {
        failed[name] = String(e.message ?? e).slice(0, 300);
        log(`  ${name}: ${failed[name]}`);
      }
    }
    if (round >= 0 && (round + 1) % 5 === 0) log(`  round ${round + 1}/${ROUNDS}`);
  }
  inspector.destroy();
  return { times, first, bytes, failed, clients };
}

// ---- 5. Chromium: the dashboard's first render -------------------------------------------------------

async function measureBrowser(url, cookie, s) {
  if (!existsSync(chromiumPath)) return { skipped: `${chromiumPath} missing (apt-get install chromium)` };
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  const [name, value] = cookie.split("=");
  const ready = () =>
    document.querySelector("main h1") !== null &&
    document.querySelector('main [aria-busy="true"]') === null &&
    document.querySelector(".loading") === null;
  const one = async (page, nav) => {
    await nav();
    await page.waitForFunction(ready, null, { timeout: 60_000, polling: "raf" });
    return page.evaluate(() => ({
      ready: performance.now(),
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
      transferred: performance.getEntriesByType("resource").reduce((a, e) => a + (e.transferSize || 0), 0),
    }));
  };
  const cold = [];
  const warm = [];
  const views = [];
  try {
    for (let i = 0; i < BROWSER_RUNS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addCookies([{ name, value, url }]);
      const page = await context.newPage();
      cold.push(await one(page, () => page.goto(`${url}/console/dashboard`)));
      warm.push(await one(page, () => page.reload()));
      await context.close();
    }
    // the main views at this scale, each rendered once (warm) and photographed
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name, value, url }]);
    const page = await context.newPage();
    const top = s.images[0];
    const tour = [
      ["repositories", "/console/repositories?sort=critical&order=desc"],
      ["images", `/console/repositories/${top.repository}`],
      ["image-details", `/console/repositories/${top.repository}/images/${top.digest}`],
      ["vulnerability", `/console/vulnerabilities/${encodeURIComponent(s.vulns[0].id)}`],
      ["dashboard", "/console/dashboard"],
      ["scanning", "/console/settings/scanning"],
    ];
    mkdirSync(screenshots, { recursive: true });
    // and a repository's images in the dark theme (the console remembers the choice in localStorage)
    tour.push(["images-dark", `/console/repositories/${top.repository}`, "dark"]);
    for (const [view, path, theme] of tour) {
      if (theme) await page.evaluate((t) => localStorage.setItem("drydock-theme", t), theme);
      const t = await one(page, () => page.goto(url + path));
      await page.waitForLoadState("networkidle");
      await page.screenshot({ path: join(screenshots, `bench-${view}.png`) });
      views.push({ view, path, ready: t.ready });
    }
    await context.close();
  } finally {
    await browser.close();
  }
  return { cold, warm, views };
}

// ---- 6. the bundle ---------------------------------------------------------------------------------

function measureBundle() {
  const index = join(webDist, "index.html");
  if (!existsSync(index)) return { skipped: "web/dist missing (npm run build)" };
  const html = readFileSync(index, "utf8");
  const refs = [
    ...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*rel="(?:modulepreload|stylesheet)"[^>]*href="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*href="([^"]+)"[^>]*rel="(?:modulepreload|stylesheet)"/g),
  ].map((m) => m[1]);
  const gz = (buf) => gzipSync(buf, { level: 9 }).length;
  const file = (ref) => join(webDist, ref.replace(/^\/console\//, ""));
  const first = [...new Set(refs)].map((ref) => {
    const buf = readFileSync(file(ref));
    return { file: ref, bytes: buf.length, gzip: gz(buf) };
  });
  first.push({ file: "index.html", bytes: Buffer.byteLength(html), gzip: gz(Buffer.from(html)) });
  const assets = readdirSync(join(webDist, "assets")).map((f) => {
    const buf = readFileSync(join(webDist, "assets", f));
    return { file: f, bytes: buf.length, gzip: gz(buf) };
  });
  const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0);
  return {
    first,
    firstGzip: sum(first, "gzip"),
    firstBytes: sum(first, "bytes"),
    allGzip: sum(assets, "gzip"),
    allBytes: sum(assets, "bytes"),
    largest: assets.sort((a, b) => b.gzip - a.gzip).slice(0, 5),
  };
}

// ---- main ----------------------------------------------------------------------------------------------

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "--prepare") return prepareChild(...args);
  const problems = [];
  if (!existsSync(join(fixturesDir, "images.tsv"))) problems.push(`fixtures missing in ${fixturesDir}`);
  if (!existsSync(vulndata)) problems.push(`${vulndata} missing (DRYDOCK_SHARED)`);
  if (!existsSync(join(dist, "cli/main.js"))) problems.push("dist/ missing: npm run build");
  if (!existsSync(join(webDist, "index.html"))) problems.push("web/dist missing: npm run build");
  if (!(SCALE > 0)) problems.push("SCALE must be a positive number");
  if (problems.length) {
    for (const p of problems) process.stderr.write(`bench:console cannot run: ${p}\n`);
    process.exit(1);
  }
  const load0 = loadavg();
  const shape = registryShape(SCALE);
  log(
    `SCALE=${SCALE} (${shape.images} images in ${shape.repositories} repositories), load ${load0}, work ${WORK}`,
  );
  const { registryDb, vulndbPath, setup } = await ensureRegistry({
    work: WORK,
    scale: SCALE,
    seed: SEED,
    registry: process.env.REGISTRY,
    anyMigrations: true,
  });
  log(`registry: ${setup.images} images, ${setup.findings} findings, ${(setup.bytes / MB).toFixed(0)} MiB`);
  const data = await prepareDataDir(registryDb, vulndbPath);
  log(
    `copy migrated by this build in ${(data.migrateMs / 1000).toFixed(1)} s; ${data.scanStates} scan states written in ${(data.scanStatesMs / 1000).toFixed(1)} s`,
  );
  const s = await samples(join(data.dir, "meta.db"));
  const server = await startServer(data.dir);
  let api;
  let browserTimes;
  let idle;
  let rss;
  try {
    log(`server up in ${(server.startMs / 1000).toFixed(1)} s; waiting until it is idle`);
    idle = await waitIdle(server.child.pid);
    log(`idle after ${(idle.ms / 1000).toFixed(0)} s; ${ROUNDS} rounds of the API pages`);
    api = await measureApi(server, s);
    log("Chromium: the dashboard's first render");
    browserTimes = await measureBrowser(server.url, api.clients.admin.cookie, s);
    rss = procMemory(server.child.pid);
  } finally {
    await server.stop();
  }
  const bundle = measureBundle();
  report({
    setup,
    data,
    server: { startMs: server.startMs },
    idle,
    api,
    browser: browserTimes,
    bundle,
    rss,
    load: [load0, loadavg()],
  });
}

function report(r) {
  const out = [];
  const p = (x = "") => out.push(x);
  const { setup, api } = r;
  p(`\nConsole benchmark, SCALE=${SCALE}, seed ${SEED}`);
  p(
    `registry: ${fmt(setup.images)} images in ${fmt(setup.repositories)} repositories, ${fmt(setup.findings)} findings ` +
      `(${fmt(setup.vulnerabilityIds)} vulnerability ids); migrated by this build in ${fmt(r.data.migrateMs / 1000, 1)} s ` +
      `(${fmt(r.data.scanStates)} scan states written in ${fmt(r.data.scanStatesMs / 1000, 1)} s), ` +
      `server up in ${fmt(r.server.startMs / 1000, 1)} s, idle after ${fmt(r.idle.ms / 1000)} s; server RSS ${fmt(r.rss.rss / MB)} MiB (peak ${fmt(r.rss.hwm / MB)})`,
  );
  const healthz = pct(api.times["reference: GET /healthz"], 50);
  const inspector = pct(api.times["reference: Inspector2 ListFindings, a repository, 50"], 50);
  const rows = [
    [
      "page (GET /api/console/...)",
      "first ms",
      "p50 ms",
      "p95 ms",
      "max ms",
      "p95/goal",
      "p50/ListFindings",
      "KiB",
    ],
  ];
  const pages = [];
  for (const [k, ts] of Object.entries(api.times)) {
    if (api.failed[k] && !ts.length) {
      rows.push([k, "failed", "", "", "", "", "", ""]);
      continue;
    }
    const isRef = k.startsWith("reference:");
    if (!isRef) pages.push({ name: k, p95: pct(ts, 95) });
    const b = api.bytes[k];
    rows.push([
      k,
      fmt(api.first[k], 1),
      fmt(pct(ts, 50), 1),
      fmt(pct(ts, 95), 1),
      fmt(Math.max(...ts), 1),
      isRef ? "" : fmt(pct(ts, 95) / GOAL_MS, 2),
      fmt(pct(ts, 50) / inspector, 2),
      b ? fmt(b.reduce((a, x) => a + x, 0) / b.length / 1024, 1) : "",
    ]);
  }
  p();
  p(table(rows, 1));
  const worst = pages.sort((a, b) => b.p95 - a.p95)[0];
  const missed = pages.filter((x) => !(x.p95 < GOAL_MS));
  p(
    `goal p95 < ${GOAL_MS} ms on every page: ${missed.length ? `MISSED by ${missed.map((x) => x.name).join(", ")}` : "met"}` +
      (worst
        ? ` (slowest: ${worst.name}, p95 ${fmt(worst.p95, 1)} ms = ${fmt(worst.p95 / GOAL_MS, 2)} x the goal)`
        : "") +
      `; references: /healthz p50 ${fmt(healthz, 2)} ms, Inspector2 ListFindings p50 ${fmt(inspector, 1)} ms; ${ROUNDS} rounds after a warm-up round`,
  );
  for (const [k, e] of Object.entries(api.failed)) p(`  failed: ${k}: ${e}`);
  p();
  if (r.browser.skipped) p(`Chromium: skipped (${r.browser.skipped})`);
  else {
    const col = (xs, k) => xs.map((x) => x[k]);
    p(
      table(
        [
          [
            "dashboard in Chromium",
            "first render p50 ms",
            "max ms",
            "first contentful paint p50 ms",
            "KiB transferred",
          ],
          ...[
            ["cold (new context)", r.browser.cold],
            ["warm (reload)", r.browser.warm],
          ].map(([k, xs]) => [
            k,
            fmt(pct(col(xs, "ready"), 50), 0),
            fmt(Math.max(...col(xs, "ready")), 0),
            fmt(pct(col(xs, "fcp"), 50), 0),
            fmt(pct(col(xs, "transferred"), 50) / 1024, 0),
          ]),
        ],
        1,
      ),
    );
    p(
      `(${BROWSER_RUNS} runs each; first render: navigation start to the dashboard's heading shown with no request pending)`,
    );
    p(
      `each view once (warm), navigation start to rendered: ` +
        r.browser.views.map((v) => `${v.view} ${fmt(v.ready)} ms`).join(", ") +
        ` (screenshots: test-results/console/bench-*.png)`,
    );
  }
  p();
  if (r.bundle.skipped) p(`bundle: skipped (${r.bundle.skipped})`);
  else {
    p(
      `first page's bundle: ${fmt(r.bundle.firstGzip / 1024, 1)} KiB gzipped (${fmt(r.bundle.firstBytes / 1024)} KiB raw; goal < 300 KB: ` +
        `${r.bundle.firstGzip < GOAL_BUNDLE ? "met" : "MISSED"}, ${fmt(r.bundle.firstGzip / GOAL_BUNDLE, 2)} x the goal): ` +
        r.bundle.first.map((f) => `${f.file} ${fmt(f.gzip / 1024, 1)}`).join(", "),
    );
    p(
      `all of web/dist/assets: ${fmt(r.bundle.allGzip / 1024, 1)} KiB gzipped; largest: ` +
        r.bundle.largest.map((f) => `${f.file} ${fmt(f.gzip / 1024, 1)}`).join(", "),
    );
  }
  p();
  p(
    `load average before ${r.load[0]}, after ${r.load[1]}; ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ` +
      `${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}`,
  );
  process.stdout.write(out.join("\n") + "\n");
  const { clients: _c, ...apiOut } = api;
  const file = writeResults("console", {
    date: new Date().toISOString(),
    scale: SCALE,
    seed: SEED,
    ...r,
    api: apiOut,
  });
  log(`results: ${file}`);
}

main().catch((e) => {
  process.stderr.write(`bench:console: ${e.stack ?? e}\n`);
  process.exit(1);
});
