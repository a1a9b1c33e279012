#!/usr/bin/env node
// Re-match benchmark (issue 11, "Speed"): continuous re-scanning of a synthetic registry.
//
//   npm run bench:rematch            (needs the built fixtures and ../shared/vulndata)
//   SCALE=0.01 npm run bench:rematch (1,000 images, for development)
//
// Environment: SCALE (default 1: 2,000 base stacks, 100,000 images), SEED (default 11),
// BENCH_WORKDIR (default /tmp/drydock-bench-rematch: the vulnerability databases, the layer
// cache of the fixtures and the synthetic registry are kept there between runs), BACKENDS
// (default "sqlite,postgres": where the query mix runs), QUERY_ROUNDS (default 20),
// DRYDOCK_FIXTURES (default /tmp/drydock-fixtures), DRYDOCK_SHARED (default ../shared),
// PROFILE=1 (the re-match child writes a V8 CPU profile to the work directory), QUERIES_ONLY=1
// ((c) only, on the registry as generated), TIMINGS=1
// (CPU time of the stores' methods in the re-match; one job at a time), SKIP_B=1 ((a) only),
// DRAW=advisories (the 99 advisories drawn among all those of the keys present, not key by
// key), CHANGED (default 100: how many advisories (a) changes), EVERY_STACK=0 (no advisory
// that hits every base stack: all CHANGED drawn; a small update), REGISTRY=FILE (a registry an
// earlier run generated), DRYDOCK_DIST (another build).
//
// 1. The registry. The package population is the fixture images' (their OCI layouts analysed
//    with Drydock's own analyser, as the e2e harness finds them): Debian 12's packages, npm,
//    PyPI, Maven and Go. 2,000 base stacks of two layers (one of 20 Debian 12 base layers, then
//    a random subset of the fixtures' other Debian packages, with the Python packages those
//    install and, on a few stacks, the Go-built skopeo binary); on each stack 5 applications
//    (a repository each) of 10 builds (images), each build with 1-2 own layers: the npm tree of
//    node-app, python-app's pip packages, java-app's jars and app.jar, or its Go binary (the
//    dependency layer is shared by the builds that did not change it, as a build cache does).
//    Every image is written through the stores, as a finished ENHANCED scan commits it
//    (scan/results.ts recordScan: the inventory through InventoryStore, the findings reconciled
//    and written through FindingStore), matched against a database built from
//    ../shared/vulndata (each distinct layer content matched once). The initial scans append no
//    events (the log starts empty); everything after does. The generator is
//    bench/synthetic-registry.mjs, shared with bench:console (the same registry file serves both).
// 2. (a) A new database that changes 100 advisories: 99 drawn at random among the advisories
//    of the match keys present in the registry (text, fix or withdrawal changes, applied to
//    the database file as an import writes them), plus one new Debian 12 glibc advisory that
//    hits every base stack (the pack's Debian lists end before bookworm, so it is made up).
//    Timed from the new file being renamed into place to every finding and event committed:
//    the server's own path (VulnDbProvider, planDatabaseChange = db diff + planRematch, the
//    rematch jobs on the RegistryScanService's job worker). (b) A full re-match: a database
//    rebuilt from scratch (the pack again) that nothing can be diffed against (no snapshot of
//    the build the findings were matched with), so every watched image is re-matched.
// 3. (c) p50/p95 of a fixed query mix through the Inspector2 backend (ListFindings by
//    repository, vulnerability id, severity and status, package name, each sorted by severity
//    and by last observation; ListFindingAggregations by repository and by image), on SQLite
//    and on PostgreSQL (the same rows copied into a throwaway PostgreSQL 15, then ANALYZE).
// 4. (d) Peak RSS of the re-match process, database size.
// Goals (the issue): (a) under 10 s on 2 cores, (c) p95 under 100 ms, (d) RSS under 1 GB.
// Exits 0 whatever the figures (a benchmark reports, it does not fail); 1 when it cannot run.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import {
  fmt,
  log,
  MB,
  pct,
  resetHwm,
  procMemory,
  startPostgres,
  table,
  writeResults,
  prng,
} from "./common.mjs";
import {
  dist,
  ensureRegistry,
  fixturesDir as fixtures,
  jsonChild,
  loadDrydock,
  registryShape,
  vulndata,
} from "./synthetic-registry.mjs";

const self = fileURLToPath(import.meta.url);
const WORK = resolve(process.env.BENCH_WORKDIR ?? "/tmp/drydock-bench-rematch");
const SCALE = Number(process.env.SCALE ?? 1);
const SEED = Number(process.env.SEED ?? 11);
const BACKENDS = (process.env.BACKENDS ?? "sqlite,postgres").split(",").filter(Boolean);
const QUERY_ROUNDS = Number(process.env.QUERY_ROUNDS ?? 20);
const DRAW = process.env.DRAW === "advisories" ? "advisories" : "keys";
/** SKIP_B=1: (a) only (development). */
const SKIP_B = process.env.SKIP_B === "1";
/** QUERIES_ONLY=1: (c) only, on the registry as generated (no re-match before it). */
const QUERIES_ONLY = process.env.QUERIES_ONLY === "1";

const { STACKS, APPS_PER_STACK, BUILDS_PER_APP } = registryShape(SCALE);
/** CHANGED: how many advisories the new database changes (default 100, as the issue's (a)). */
const CHANGED_ADVISORIES = Number(process.env.CHANGED ?? 100);
/** EVERY_STACK=0: no advisory that hits every base stack (all CHANGED drawn): a small update. */
const EVERY_STACK = process.env.EVERY_STACK !== "0";
/** How many of the changed advisories are drawn among those present (the rest is the glibc one). */
const DRAWN = EVERY_STACK ? CHANGED_ADVISORIES - 1 : CHANGED_ADVISORIES;
const ACCOUNT = { accountId: "123456789012", region: "us-east-1" };
/** The vulnerability database the registry was matched with (ensureRegistry builds it). */
const v1Path = join(WORK, "vulndb-v1.sqlite");

// ---- small helpers ------------------------------------------------------------------------

/** Runs this script in a child process with `args`; resolves with the last JSON line it prints. */
const child = (args, opts) => jsonChild(self, args, opts);

/** Peak RSS of this process so far, bytes. */
const maxRss = () => process.resourceUsage().maxRSS * 1024;

// ---- 4. the new database: 100 changed advisories ----------------------------------------------

/** Writes `out`: v1 with CHANGED_ADVISORIES advisories changed as an import would write them. */
async function makeChangedDatabase(dd, keysPresent, out) {
  const Database = (await import("better-sqlite3")).default;
  rmSync(out, { force: true });
  copyFileSync(v1Path, out);
  const db = new Database(out);
  const rand = prng(SEED * 7919 + 1);
  const st = db.prepare(
    "SELECT DISTINCT a.source, a.id FROM affected f JOIN advisories a ON a.rowid = f.advisory WHERE a.withdrawn = 0 AND f.ecosystem = ? AND f.package = ?",
  );
  // The advisories of each match key present in the registry.
  const byKey = [];
  const candidates = new Set();
  for (const key of [...keysPresent].sort()) {
    const { ecosystem, package: pkg } = dd.parseMatchKey(key);
    const list = st.all(ecosystem, pkg).sort((a, b) => (a.source + a.id < b.source + b.id ? -1 : 1));
    for (const r of list) candidates.add(`${r.source}\0${r.id}`);
    if (list.length) byKey.push({ key, list });
  }
  // DRAW=keys (default): a key drawn at random among those with advisories, then one of its
  // advisories not drawn yet; DRAW=advisories: uniformly among all their advisories (most then
  // fall on the keys with the most advisories: Go's stdlib, Django, Pillow).
  const pool = [];
  const taken = new Set();
  const take = (r) => {
    const k = `${r.source}\0${r.id}`;
    if (taken.has(k)) return false;
    taken.add(k);
    pool.push(r);
    return true;
  };
  if (DRAW === "advisories") {
    const all = byKey.flatMap((k) => k.list);
    while (pool.length < Math.min(DRAWN, candidates.size)) take(all[Math.floor(rand() * all.length)]);
  } else {
    const open = byKey.map((k) => ({ ...k, list: [...k.list] }));
    while (pool.length < DRAWN && open.length) {
      const i = Math.floor(rand() * open.length);
      const k = open[i];
      const [r] = k.list.splice(Math.floor(rand() * k.list.length), 1);
      take(r);
      if (!k.list.length) open.splice(i, 1);
    }
  }
  const now = new Date().toISOString();
  const records = db.prepare("SELECT rowid AS r, json FROM advisories WHERE source = ? AND id = ?");
  const affOf = db.prepare("SELECT json FROM affected WHERE advisory = ? ORDER BY rowid");
  const upd = db.prepare(
    "UPDATE advisories SET modified = ?, withdrawn = ?, digest = ?, json = ? WHERE rowid = ?",
  );
  const delAff = db.prepare("DELETE FROM affected WHERE advisory = ?");
  const insAff = db.prepare("INSERT INTO affected (advisory, ecosystem, package, json) VALUES (?, ?, ?, ?)");
  const touched = [];
  const write = (rowid, adv) => {
    touched.push(rowid);
    const form = dd.storedForm(adv);
    upd.run(adv.modified ?? null, adv.withdrawn ? 1 : 0, form.digest, form.base, rowid);
    delAff.run(rowid);
    form.affected.forEach((a, i) => insAff.run(rowid, a.ecosystem, a.package, form.affectedJson[i]));
  };
  // A fix published (a `fixed` event where none), a fix retracted (fixed -> last_affected), the
  // text revised, or the advisory withdrawn.
  const kinds = ["text", "fix", "text", "withdraw", "fix"];
  const changed = [];
  db.transaction(() => {
    for (const [i, c] of pool.entries()) {
      const kind = kinds[i % kinds.length];
      for (const r of records.all(c.source, c.id)) {
        const adv = { ...JSON.parse(r.json), affected: affOf.all(r.r).map((a) => JSON.parse(a.json)) };
        adv.modified = now;
        if (kind === "text") adv.details = `${adv.details ?? ""}\n\nRevised ${now}.`;
        else if (kind === "withdraw") adv.withdrawn = now;
        else {
          let moved = false;
          for (const aff of adv.affected)
            for (const range of aff.ranges ?? []) {
              if (!Array.isArray(range.events)) continue;
              const fixed = range.events.findIndex((e) => "fixed" in e);
              if (fixed >= 0) range.events[fixed] = { last_affected: range.events[fixed].fixed };
              else range.events.push({ fixed: aff.ecosystem.startsWith("debian") ? "999" : "999.0.0" });
              moved = true;
            }
          // no range with events (a version list): its text changes instead
          if (!moved) adv.details = `${adv.details ?? ""}\n\nRevised ${now}.`;
        }
        write(r.r, adv);
      }
      changed.push({ ...c, kind });
    }
    // The one that hits every base stack: a new Debian 12 glibc advisory (made up: the pack's
    // Debian lists end before bookworm).
    if (EVERY_STACK) {
      const feed = db.prepare("SELECT seq FROM feeds WHERE id LIKE 'debian-dsa:%DSA-list%'").get()?.seq ?? 1;
      const adv = {
        id: "DSA-9001-1",
        source: "debian-dsa",
        aliases: ["CVE-2099-10001"],
        references: [{ type: "ADVISORY", url: "https://security-tracker.debian.org/tracker/DSA-9001-1" }],
        published: now.slice(0, 10),
        modified: now,
        summary: "glibc - security update",
        affected: [
          {
            ecosystem: "debian:12",
            package: "glibc",
            status: "affected",
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "2.36-9+deb12u99" }] }],
          },
        ],
      };
      const form = dd.storedForm(adv);
      const { lastInsertRowid } = db
        .prepare(
          "INSERT INTO advisories (source, id, feed, modified, withdrawn, digest, json) VALUES (?, ?, ?, ?, 0, ?, ?)",
        )
        .run(adv.source, adv.id, feed, now, form.digest, form.base);
      form.affected.forEach((a, i) =>
        insAff.run(lastInsertRowid, a.ecosystem, a.package, form.affectedJson[i]),
      );
      touched.push(Number(lastInsertRowid));
      changed.push({ source: adv.source, id: adv.id, kind: "new (every base stack)" });
    }
    // The feeds these came from were imported again (new source bytes), the others kept.
    const feeds = db
      .prepare("SELECT DISTINCT feed FROM advisories WHERE rowid IN (SELECT value FROM json_each(?))")
      .all(JSON.stringify(touched))
      .map((r) => r.feed);
    const upFeed = db.prepare("UPDATE feeds SET imported_at = ?, fingerprint = ? WHERE seq = ?");
    for (const f of feeds) upFeed.run(now, createHash("sha256").update(`${f} ${now}`).digest("hex"), f);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'built_at'").run(now);
  })();
  db.close();
  return { candidates: candidates.size, keysWithAdvisories: byKey.length, changed };
}

/** A copy of v1 with a new build time: the pack imported again from scratch (every feed). */
async function makeRebuiltDatabase(out) {
  const Database = (await import("better-sqlite3")).default;
  rmSync(out, { force: true });
  copyFileSync(v1Path, out);
  const db = new Database(out);
  const now = new Date().toISOString();
  db.prepare("UPDATE meta SET value = ? WHERE key = 'built_at'").run(now);
  db.prepare("UPDATE feeds SET imported_at = ?").run(now);
  db.close();
}

// ---- 5. the re-match ----------------------------------------------------------------------------

/** Child: (a) and (b) on a copy of the registry; prints the figures. */
async function rematchChild(registryDb) {
  const dd = await loadDrydock();
  const Database = (await import("better-sqlite3")).default;
  const run = join(WORK, "run");
  rmSync(run, { recursive: true, force: true });
  mkdirSync(join(run, "vulndb"), { recursive: true });
  const metaPath = join(run, "meta.db");
  copyFileSync(registryDb, metaPath);
  const dbPath = join(run, "vulndb", "vulndb.sqlite");
  const snapshotPath = `${dbPath}.matched`;
  copyFileSync(v1Path, dbPath);
  linkSync(dbPath, snapshotPath); // what planDatabaseChange left after the registry's scans

  const ro = new Database(metaPath, { readonly: true });
  const keysPresent = ro
    .prepare("SELECT DISTINCT match_key FROM segment_keys")
    .all()
    .map((r) => r.match_key);
  ro.close();
  const building = `${dbPath}.building`;
  const v2 = await makeChangedDatabase(dd, keysPresent, building);
  log(
    `database v2: ${v2.changed.length} advisories changed (DRAW=${DRAW}), from the ${v2.candidates} advisories of ${v2.keysWithAdvisories} of the ${keysPresent.length} keys present`,
  );

  // As the server opens it (storage/open.ts): checkpoints on their own thread.
  const meta = await dd.openSqliteMetaStore(metaPath, undefined, { checkpointer: true });
  const settings = new dd.RepositorySettingsService(meta);
  const fsBlobs = await dd.FsBlobStore.open(join(run, "blobs"));
  let blobReads = 0;
  const blobs = new Proxy(fsBlobs, {
    get: (t, k) => {
      const v = Reflect.get(t, k, t);
      if (typeof v !== "function") return v;
      return (...args) => {
        if (k === "open" || k === "read") blobReads++;
        return v.apply(t, args);
      };
    },
  });
  const provider = new dd.VulnDbProvider(dbPath);
  provider.refresh();
  const limits = dd.layerLimits(dd.configSchema.parse({}));
  const config = dd.configSchema.parse({});
  const timings = process.env.TIMINGS === "1" ? await timeStores() : null;
  const service = new dd.RegistryScanService(meta, blobs, provider, settings, {
    aws: ACCOUNT,
    engine: { limits },
    queue: {
      // TIMINGS: one job at a time, so that the timings of one do not include the other's
      concurrency: timings ? 1 : config.scan.concurrency || cpus().length,
      maxAttempts: config.scan.maxAttempts,
      retryBaseMs: config.scan.retryBaseMs,
      leaseMs: config.scan.leaseSeconds * 1000,
      pollIntervalMs: config.scan.pollIntervalMs,
    },
  });
  await service.start();
  const scanOnPush = (tx, id) => settings.scanOnPush(tx, id);

  const sqlite = new Database(metaPath, { readonly: true });
  const count = (q, ...a) => Object.values(sqlite.prepare(q).get(...a))[0];

  /** One database change, timed from the rename to the last commit. */
  const change = async (name) => {
    resetHwm(process.pid);
    const events0 = await dd.lastEventSeq(meta);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const wall0 = Date.now();
    renameSync(building, dbPath);
    provider.refresh();
    const plan = await dd.planDatabaseChange(meta, { path: dbPath, snapshotPath, scanOnPush });
    const tPlan = performance.now();
    service.queue.wake();
    for (;;) {
      const d = await service.queue.depth();
      if (d.queued === 0 && d.running === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const t1 = performance.now();
    const cpu = process.cpuUsage(c0);
    const events = (await dd.lastEventSeq(meta)) - events0;
    const byStatus = Object.fromEntries(
      sqlite
        .prepare("SELECT status, count(*) n FROM findings WHERE updated_at >= ? GROUP BY status")
        .all(wall0)
        .map((r) => [r.status, r.n]),
    );
    const created = count("SELECT count(*) FROM findings WHERE first_observed_at >= ?", wall0);
    const observed = count("SELECT count(*) FROM findings WHERE last_observed_at >= ?", wall0);
    const r = {
      name,
      plan,
      ms: t1 - t0,
      planMs: tPlan - t0,
      jobsMs: t1 - tPlan,
      cpuMs: (cpu.user + cpu.system) / 1000,
      images: plan.kind === "planned" ? plan.images : 0,
      events,
      created,
      changedByStatus: byStatus,
      observed,
      peakRss: procMemory(process.pid).hwm,
    };
    log(
      `${name}: ${(r.ms / 1000).toFixed(2)} s (plan ${(r.planMs / 1000).toFixed(2)} s), ${r.images} images, ${events} events`,
    );
    return r;
  };

  const a = await change("a");
  let b = null;
  if (!SKIP_B) {
    await makeRebuiltDatabase(building);
    rmSync(snapshotPath, { force: true }); // nothing to diff against: every watched image again
    b = await change("b");
  }
  await service.stop();
  provider.close();
  await meta.close();
  sqlite.close();
  const sq = new Database(metaPath);
  sq.pragma("wal_checkpoint(TRUNCATE)");
  let tables = [];
  try {
    tables = sq
      .prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC")
      .all();
  } catch {
    // no dbstat in this build of SQLite
  }
  sq.close();
  process.stdout.write(
    JSON.stringify({
      a,
      b,
      v2: v2.changed,
      keysPresent: keysPresent.length,
      candidates: v2.candidates,
      drawn: v2.changed.filter((c) => !c.kind.startsWith("new")).length,
      keysWithAdvisories: v2.keysWithAdvisories,
      blobReads,
      timings,
      maxRss: maxRss(),
      dbBytes: statSync(metaPath).size,
      tables,
    }) + "\n",
  );
}

/**
 * TIMINGS=1: CPU milliseconds and calls of the stores' methods the re-match uses (their
 * prototypes wrapped), to tell the database's share from the rest.
 */
async function timeStores() {
  const out = {};
  const wrap = async (module, cls, methods) => {
    const C = (await import(join(dist, module)))[cls];
    for (const m of methods) {
      const f = C.prototype[m];
      const t = (out[`${cls}.${m}`] = { ms: 0, calls: 0 });
      let depth = 0;
      C.prototype[m] = async function (...args) {
        const c0 = depth++ === 0 ? process.cpuUsage() : null;
        try {
          return await f.apply(this, args);
        } finally {
          depth--;
          if (c0) {
            const c = process.cpuUsage(c0);
            t.ms += (c.user + c.system) / 1000;
            t.calls++;
          }
        }
      };
    }
  };
  await wrap("storage/meta/finding-store.js", "FindingStore", [
    "put",
    "observe",
    "forImages",
    "imageContexts",
  ]);
  await wrap("storage/meta/inventory-store.js", "InventoryStore", [
    "segmentsOf",
    "segmentPackages",
    "stored",
  ]);
  await wrap("storage/meta/event-store.js", "EventStore", ["appendMany"]);
  await wrap("storage/meta/job-store.js", "JobStore", ["claim", "complete", "enqueue"]);
  return out;
}

// ---- 6. the query mix -----------------------------------------------------------------------------

/** Child: the query mix on SQLite (a file) or PostgreSQL (a URL); prints the latencies. */
async function queryChild(backend, target) {
  const dd = await loadDrydock();
  const meta = backend === "sqlite" ? await dd.openSqliteMetaStore(target) : dd.openPostgresMetaStore(target);
  const inspector = new dd.StoreInspector2Backend(meta, { registry: ACCOUNT });
  const principal = dd.AwsPrincipal.unrestricted(ACCOUNT.accountId);
  // Parameters drawn from what is stored (the same seed: the same draws on both backends).
  const Database = (await import("better-sqlite3")).default;
  const sq = new Database(process.env.QUERY_SAMPLE_DB ?? target, { readonly: true });
  const repos = sq
    .prepare("SELECT name FROM repositories ORDER BY name")
    .all()
    .map((r) => r.name);
  const vulns = sq
    .prepare("SELECT DISTINCT vulnerability_id v FROM findings ORDER BY v")
    .all()
    .map((r) => r.v);
  const pkgs = sq
    .prepare("SELECT DISTINCT package_name p FROM findings ORDER BY p")
    .all()
    .map((r) => r.p);
  sq.close();
  const rand = prng(SEED + 5);
  const any = (list) => list[Math.floor(rand() * list.length)];
  const sorts = [
    { field: "SEVERITY", sortOrder: "DESC" },
    { field: "LAST_OBSERVED_AT", sortOrder: "DESC" },
  ];
  const list = (criteria, sort) => (p) => inspector.listFindings({ criteria, sort, maxResults: 100 }, p);
  const kinds = [
    ...sorts.flatMap((sort) => [
      [
        `ListFindings repository, ${sort.field}`,
        () => list({ ecrImageRepositoryName: [{ comparison: "EQUALS", value: any(repos) }] }, sort),
      ],
      [
        `ListFindings vulnerabilityId, ${sort.field}`,
        () => list({ vulnerabilityId: [{ comparison: "EQUALS", value: any(vulns) }] }, sort),
      ],
      [
        `ListFindings severity+status, ${sort.field}`,
        () =>
          list(
            {
              severity: [{ comparison: "EQUALS", value: any(["CRITICAL", "HIGH", "MEDIUM", "LOW"]) }],
              findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }],
            },
            sort,
          ),
      ],
      [
        `ListFindings package name, ${sort.field}`,
        () => list({ vulnerablePackages: [{ name: { comparison: "EQUALS", value: any(pkgs) } }] }, sort),
      ],
    ]),
    [
      "ListFindingAggregations REPOSITORY",
      () => (p) =>
        inspector.listFindingAggregations(
          { request: { type: "REPOSITORY", sortBy: "CRITICAL", sortOrder: "DESC" }, maxResults: 100 },
          p,
        ),
    ],
    [
      "ListFindingAggregations AWS_ECR_CONTAINER",
      () => (p) =>
        inspector.listFindingAggregations(
          { request: { type: "AWS_ECR_CONTAINER", sortBy: "CRITICAL", sortOrder: "DESC" }, maxResults: 100 },
          p,
        ),
    ],
    [
      "ListFindingAggregations AWS_ECR_CONTAINER, one repository",
      () => {
        const r = any(repos);
        return (p) =>
          inspector.listFindingAggregations(
            {
              request: {
                type: "AWS_ECR_CONTAINER",
                repositories: [{ comparison: "EQUALS", value: r }],
                sortBy: "ALL",
                sortOrder: "DESC",
              },
              maxResults: 100,
            },
            p,
          );
      },
    ],
  ];
  const times = Object.fromEntries(kinds.map(([k]) => [k, []]));
  const sizes = Object.fromEntries(kinds.map(([k]) => [k, []]));
  for (let round = -1; round < QUERY_ROUNDS; round++) {
    for (const [name, make] of kinds) {
      const q = make();
      const t = performance.now();
      const page = await q(principal);
      const ms = performance.now() - t;
      if (round >= 0) {
        times[name].push(ms);
        sizes[name].push(page.items.length);
      }
    }
  }
  await meta.close();
  process.stdout.write(JSON.stringify({ backend, times, sizes, maxRss: maxRss() }) + "\n");
}

/** Child: copies every table of the SQLite registry into PostgreSQL (then ANALYZE). */
async function pgLoadChild(sqlitePath, url) {
  const dd = await loadDrydock();
  const t0 = performance.now();
  const meta = dd.openPostgresMetaStore(url);
  await meta.migrate();
  await meta.close();
  const Database = (await import("better-sqlite3")).default;
  const pg = (await import("pg")).default;
  const sq = new Database(sqlitePath, { readonly: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const tables = sq
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%'",
    )
    .all()
    .map((r) => r.name);
  // Parents before children (foreign keys).
  const order = ["repositories", "blobs", "inventory_segments", "inspector_filters"];
  tables.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const rows = {};
  await client.query("BEGIN");
  for (const t of tables) {
    await client.query(`DELETE FROM ${t}`);
    const cols = sq
      .prepare(`SELECT * FROM ${t} LIMIT 1`)
      .columns()
      .map((c) => c.name);
    let n = 0;
    let buf = [];
    const flush = async () => {
      if (!buf.length) return;
      const params = [];
      const values = buf.map(
        (r) => `(${cols.map((c) => (params.push(r[c]), `$${params.length}`)).join(",")})`,
      );
      await client.query(
        `INSERT INTO ${t} (${cols.map((c) => `"${c}"`).join(",")}) VALUES ${values.join(",")}`,
        params,
      );
      buf = [];
    };
    const per = Math.max(1, Math.floor(30000 / cols.length));
    for (const r of sq.prepare(`SELECT * FROM ${t}`).iterate()) {
      buf.push(r);
      n++;
      if (buf.length >= per) await flush();
    }
    await flush();
    rows[t] = n;
  }
  // Serial keys continue after the copied ids.
  const serials = await client.query(
    `SELECT table_name, column_name, pg_get_serial_sequence(table_name, column_name) seq FROM information_schema.columns
      WHERE table_schema = 'public' AND column_default LIKE 'nextval%'`,
  );
  for (const s of serials.rows)
    await client.query(
      `SELECT setval('${s.seq}', coalesce((SELECT max(${s.column_name}) FROM ${s.table_name}), 0) + 1, false)`,
    );
  await client.query("COMMIT");
  await client.query("ANALYZE");
  const size = await client.query("SELECT pg_database_size(current_database()) AS b");
  await client.end();
  sq.close();
  process.stdout.write(
    JSON.stringify({ ms: performance.now() - t0, rows, bytes: Number(size.rows[0].b) }) + "\n",
  );
}

// ---- main ---------------------------------------------------------------------------------------

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "--rematch") return rematchChild(...args);
  if (mode === "--queries") return queryChild(...args);
  if (mode === "--pg-load") return pgLoadChild(...args);

  const problems = [];
  if (!existsSync(join(fixtures, "images.tsv")))
    problems.push(`fixtures missing: run ../shared/tools/images/build-images.sh ${fixtures}`);
  if (!existsSync(vulndata)) problems.push(`${vulndata} missing (DRYDOCK_SHARED)`);
  if (!existsSync(join(dist, "scan/rematch.js"))) problems.push("dist/ missing: npm run build");
  if (!(SCALE > 0)) problems.push("SCALE must be a positive number");
  if (problems.length) {
    for (const p of problems) process.stderr.write(`bench:rematch cannot run: ${p}\n`);
    process.exit(1);
  }
  mkdirSync(WORK, { recursive: true });
  const load0 = loadavg();
  log(
    `SCALE=${SCALE} (${STACKS} base stacks, ${STACKS * APPS_PER_STACK * BUILDS_PER_APP} images), load ${load0.map((l) => l.toFixed(2)).join(" ")}, work ${WORK}`,
  );

  // The database and the registry are kept between runs (keyed by scale, seed, the generator and
  // the migrations). REGISTRY=FILE: that registry (made by an earlier run with the same SCALE and
  // SEED; the re-match migrates a copy of it when it opens it).
  const {
    vulndb: v1,
    registryDb,
    setup,
  } = await ensureRegistry({
    work: WORK,
    scale: SCALE,
    seed: SEED,
    registry: process.env.REGISTRY,
  });
  log(`registry: ${setup.images} images, ${setup.findings} findings, ${(setup.bytes / MB).toFixed(0)} MiB`);

  const runDb = join(WORK, "run", "meta.db");
  let rematch = null;
  if (QUERIES_ONLY) {
    // (c) on a copy of the registry as generated (migrated when the query child opens it).
    rmSync(join(WORK, "run"), { recursive: true, force: true });
    mkdirSync(join(WORK, "run"), { recursive: true });
    copyFileSync(registryDb, runDb);
  } else {
    log(`re-match: (a) ${CHANGED_ADVISORIES} changed advisories, (b) a rebuilt database`);
    rematch = await child(["--rematch", registryDb], {
      nodeArgs: process.env.PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${WORK}`] : [],
    });
  }

  const queries = [];
  for (const backend of BACKENDS) {
    if (backend === "sqlite") {
      log("queries: SQLite");
      queries.push(await child(["--queries", "sqlite", runDb]));
    } else if (backend === "postgres") {
      const dir = join(WORK, "pg");
      rmSync(dir, { recursive: true, force: true });
      const pg = await startPostgres(dir);
      try {
        log("queries: copying the registry into PostgreSQL");
        const loaded = await child(["--pg-load", runDb, pg.url]);
        log(`  ${(loaded.ms / 1000).toFixed(0)} s, ${(loaded.bytes / MB).toFixed(0)} MiB`);
        process.env.QUERY_SAMPLE_DB = runDb;
        const q = await child(["--queries", "postgres", pg.url]);
        q.loaded = loaded;
        queries.push(q);
      } finally {
        await pg.stop();
      }
    }
  }
  const load1 = loadavg();
  report({ setup, rematch, queries, v1, load: [load0, load1] });
}

/** The (a), (b) and (d) lines of the report. */
function reportRematch(r, p) {
  const { rematch } = r;
  const line = (x) => {
    const per = x.images ? (x.ms / x.images) * 1000 : NaN;
    return [
      x.name === "a" ? `(a) ${CHANGED_ADVISORIES} changed advisories` : "(b) full re-match, rebuilt database",
      fmt(x.images),
      fmt(x.ms / 1000, 2),
      fmt(x.planMs / 1000, 2),
      fmt(x.jobsMs / 1000, 2),
      fmt(x.cpuMs / 1000, 2),
      fmt(per, 0),
      fmt(x.created),
      fmt(Object.values(x.changedByStatus).reduce((a, b) => a + b, 0)),
      fmt(x.observed),
      fmt(x.events),
      fmt(x.peakRss / MB),
    ];
  };
  p();
  p(
    table(
      [
        [
          "change",
          "images",
          "total s",
          "plan s",
          "jobs s",
          "CPU s",
          "µs/image",
          "created",
          "changed",
          "observed",
          "events",
          "peak RSS MiB",
        ],
        line(rematch.a),
        ...(rematch.b ? [line(rematch.b)] : []),
      ],
      1,
    ),
  );
  p(
    `(a) goal < 10 s: ${rematch.a.ms < 10_000 ? "met" : "MISSED"} (${fmt(rematch.a.ms / 10_000, 2)} x the goal); ` +
      (rematch.b ? `(b) ${fmt(rematch.b.ms / rematch.a.ms, 1)} x (a); ` : "") +
      `layers read: ${rematch.blobReads}; the ${fmt(rematch.drawn)} advisories drawn (DRAW=${DRAW}${EVERY_STACK ? "" : ", EVERY_STACK=0"}) from the ${fmt(rematch.candidates)} advisories ` +
      `of the ${fmt(rematch.keysWithAdvisories)} match keys present that have any (of ${fmt(rematch.keysPresent)} present)`,
  );
  p(
    `(d) peak RSS of the re-match process ${fmt(rematch.maxRss / MB)} MiB (goal < 1024: ${rematch.maxRss < 1024 * MB ? "met" : "MISSED"}); ` +
      `SQLite database ${fmt(rematch.dbBytes / MB)} MiB` +
      (r.queries.find((q) => q.loaded)
        ? `, PostgreSQL ${fmt(r.queries.find((q) => q.loaded).loaded.bytes / MB)} MiB`
        : ""),
  );
  if (rematch.tables.length)
    p(
      `  largest: ${rematch.tables
        .slice(0, 8)
        .map((t) => `${t.name} ${fmt(t.bytes / MB)} MiB`)
        .join(", ")}`,
    );
}

function report(r) {
  const { setup, rematch } = r;
  const out = [];
  const p = (s = "") => out.push(s);
  p(`\nRe-match benchmark, SCALE=${SCALE}, seed ${SEED}`);
  p(
    `registry: ${fmt(setup.images)} images in ${fmt(setup.repositories)} repositories on ${fmt(setup.baseStacks)} base stacks; ` +
      `${fmt(setup.packagesPerImage.min)}-${fmt(setup.packagesPerImage.max)} packages per image (mean ${fmt(setup.packagesPerImage.avg, 1)})`,
  );
  p(
    `  ${fmt(setup.segments)} inventory segments (${fmt(setup.segmentPackages)} package rows, ${fmt(setup.segmentKeys)} key rows), ` +
      `${fmt(setup.findings)} findings (${fmt(setup.vulnerabilityIds)} vulnerability ids, ${fmt(setup.imagesWithFindings)} images with any), ` +
      `by severity ${JSON.stringify(setup.bySeverity)}`,
  );
  p(
    `  written through the stores in ${fmt(setup.setupMs / 1000, 0)} s (peak RSS ${fmt(setup.setupMaxRss / MB)} MiB)`,
  );
  if (rematch) reportRematch(r, p);
  for (const q of r.queries) {
    p();
    const rows = [["(c) " + q.backend, "p50 ms", "p95 ms", "max ms", "rows"]];
    const all = [];
    for (const [k, ts] of Object.entries(q.times)) {
      all.push(...ts);
      rows.push([
        k,
        fmt(pct(ts, 50), 1),
        fmt(pct(ts, 95), 1),
        fmt(Math.max(...ts), 1),
        fmt(q.sizes[k].reduce((a, b) => a + b, 0) / q.sizes[k].length, 0),
      ]);
    }
    rows.push(["all", fmt(pct(all, 50), 1), fmt(pct(all, 95), 1), fmt(Math.max(...all), 1), ""]);
    p(table(rows, 1));
    p(
      `p95 goal < 100 ms: ${pct(all, 95) < 100 ? "met" : "MISSED"} (${QUERY_ROUNDS} rounds of the mix, after one warm-up round)`,
    );
  }
  p();
  p(
    `load average before ${r.load[0].map((l) => l.toFixed(2)).join(" ")}, after ${r.load[1].map((l) => l.toFixed(2)).join(" ")}; ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}`,
  );
  process.stdout.write(out.join("\n") + "\n");
  const file = writeResults("rematch", { date: new Date().toISOString(), scale: SCALE, seed: SEED, ...r });
  log(`results: ${file}`);
}

main().catch((e) => {
  process.stderr.write(`bench:rematch: ${e.stack ?? e}\n`);
  process.exit(1);
});
