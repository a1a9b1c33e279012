#!/usr/bin/env node
// The floor of re-match (a) on SQLite (issue 11, "Speed"): what SQLite alone needs to store the
// writes that bench:rematch's (a) makes at 100,000 images, with no Drydock code on the path.
//
//   npm run bench:rematch-floor          (SCALE=1: about 11 minutes, 6 GiB of disk)
//   SCALE=0.1 npm run bench:rematch-floor
//
// Environment: SCALE (default 1), SEED (default 11), BENCH_WORKDIR (default
// /tmp/drydock-bench-rematch-floor), EVENT_BYTES (default 4,200), DOCUMENT_BYTES (default 900),
// VARIANTS (default "schema,lean,lean-pk": which of the three below run), DRYDOCK_DIST.
//
// The volumes are (a)'s at SCALE=1 (docs/benchmarks.md, "Re-match"), scaled: 100,000 images,
// 1,057,888 findings stored before (on 46.8 % of the images, as the registry has them),
// then 204,360 findings created (two per image: the glibc advisory's libc6 and libc-bin),
// 272,130 updated (a changed text, fix or withdrawal), 476,490 `Inspector2 Finding` events
// of EVENT_BYTES (the event log's mean: 1.9 GiB for 476,490 events), 1,190,511 findings
// observed again (`last_observed_at`). Written as the re-match writes them: chunks of 500
// images, one transaction each, the chunk's stored findings read first by the image index.
//
// The database is Drydock's own schema (its migrations, run through dist/), then filled with
// raw SQL. Three variants, each on its own copy of the filled file, in one run:
//   schema   the tables and indexes as they are: each created finding also opens a history
//            interval; events are whole envelopes; each observation updates a finding row
//            (its two last-observed indexes move);
//   lean     the same finding rows, but events that name the finding (100 bytes, rendered
//            when read) and one last observation per image instead of per finding;
//   lean-pk  lean, and the findings table with its primary key and image index only (no
//            ListFindings' order indexes: what query goal (c) needs).
// It is a lower bound of the real path: the finding counts and totals, details, suppression,
// matching, reconciling and building the JSON are left out, and the WAL checkpoint after each
// commit is timed apart (Drydock runs them on a thread of its own).
// Prints the time of each part and the writer's total against the goal (10 s), and each
// variant's ratio to `schema`. Exits 0 whatever the figures; 1 when it cannot run.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { createRequire } from "node:module";
import { fmt, loadavg, log, MB, prng, table, writeResults } from "./common.mjs";
import { dist } from "./synthetic-registry.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

const SCALE = Number(process.env.SCALE ?? 1);
const SEED = Number(process.env.SEED ?? 11);
const WORK = resolve(process.env.BENCH_WORKDIR ?? "/tmp/drydock-bench-rematch-floor");
const EVENT_BYTES = Number(process.env.EVENT_BYTES ?? 4200);
const DOCUMENT_BYTES = Number(process.env.DOCUMENT_BYTES ?? 900);
const VARIANTS = (process.env.VARIANTS ?? "schema,lean,lean-pk").split(",").filter(Boolean);
const CHUNK = 500;
const GOAL_S = 10;

const n = (x) => Math.round(x * SCALE);
const IMAGES = n(100_000);
const STORED = n(1_057_888);
const CREATED = n(204_360);
const UPDATED = n(272_130);
const OBSERVED = n(1_190_511);
const WITH_FINDINGS = 0.468; // 46,782 of the 100,000 images have a finding before (a)
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNTRIAGED"];
const PACKAGES = ["stdlib", "golang.org/x/net", "django", "pillow", "lodash", "handlebars", "libc6"];
const CACHE_KIB = 128 * 1024; // Drydock's page cache (storage/meta/sqlite.ts)

const random = prng(SEED);
const hex = (bytes) => {
  let s = "";
  for (let i = 0; i < bytes; i++)
    s += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, "0");
  return s;
};
const filler = (bytes) => "x".repeat(Math.max(0, bytes));
const image = (i) => ({
  repositoryId: 1 + Math.floor(i / 10),
  digest: `sha256:${i.toString(16).padStart(64, "0")}`,
});

function open(file) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = OFF");
  db.pragma(`cache_size = -${CACHE_KIB}`);
  db.pragma("wal_autocheckpoint = 0"); // checkpointed after each commit, timed apart
  return db;
}

function findingRow(img, vulnerability, pkg, at) {
  return {
    id: hex(16),
    repository_id: img.repositoryId,
    digest: img.digest,
    scan_type: "ENHANCED",
    vulnerability_id: vulnerability,
    package_name: pkg,
    package_path: "",
    status: "ACTIVE",
    severity: SEVERITIES[Math.floor(random() * SEVERITIES.length)],
    fix_available: random() < 0.5 ? "YES" : "NO",
    inspector_score: 7.5,
    epss_score: 0.01,
    exploit_available: 0,
    first_observed_at: at,
    last_observed_at: at,
    updated_at: at,
    closed_at: null,
    closed_reason: null,
    json: `{"doc":"${filler(DOCUMENT_BYTES - 10)}"}`,
    details_hash: `details-${vulnerability}`,
  };
}

const COLUMNS = Object.keys(findingRow(image(0), "CVE-0", "p", 0));
const insertSql = `insert into findings (${COLUMNS.join(",")}) values (${COLUMNS.map((c) => "@" + c).join(",")})`;

/** Drydock's schema in a new file (its migrations, from dist/), filled with the stored findings. */
async function fill(file) {
  const tmp = `${file}.tmp`;
  for (const s of ["", "-wal", "-shm"]) rmSync(tmp + s, { force: true });
  const { openSqliteMetaStore } = await import(join(dist, "storage/meta/sqlite.js"));
  await (await openSqliteMetaStore(tmp)).close();
  const db = open(tmp);
  const insert = db.prepare(insertSql);
  const perImage = Math.round(STORED / (IMAGES * WITH_FINDINGS));
  let written = 0;
  const t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < IMAGES && written < STORED; i++) {
      if (random() >= WITH_FINDINGS) continue;
      const img = image(i);
      for (let j = 0; j < perImage && written < STORED; j++, written++)
        insert.run(
          findingRow(img, `CVE-2024-${1000 + Math.floor(random() * 180)}`, PACKAGES[j % PACKAGES.length], 1),
        );
    }
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  renameSync(tmp, file);
  log(`filled ${fmt(written)} findings in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  return written;
}

/** (a)'s writes on a copy of the filled file; returns the seconds of each part. */
function rematch(file, variant) {
  const db = open(file);
  const lean = variant !== "schema";
  if (variant === "lean-pk")
    for (const { name } of db
      .prepare(
        "select name from sqlite_master where type = 'index' and tbl_name = 'findings' and sql is not null",
      )
      .all())
      if (name !== "findings_image") db.exec(`drop index ${name}`);
  db.exec(
    "create table image_observed (repository_id integer, digest text, at integer, primary key (repository_id, digest)) without rowid",
  );
  db.pragma("wal_checkpoint(TRUNCATE)");
  const read = db.prepare(
    "select * from findings where repository_id = ? and digest = ? and scan_type = 'ENHANCED'",
  );
  const insert = db.prepare(insertSql);
  const interval = db.prepare(
    "insert into finding_intervals (finding_id, repository_id, scan_type, severity, opened_at) values (?, ?, 'ENHANCED', ?, ?)",
  );
  const update = db.prepare(
    "update findings set severity = ?, fix_available = ?, updated_at = ?, last_observed_at = ?, json = ? where id = ?",
  );
  const observe = db.prepare("update findings set last_observed_at = ? where id = ?");
  const observeImage = db.prepare("insert or replace into image_observed values (?, ?, ?)");
  const counter = db.prepare(
    "update counters set value = value + ? where name = 'event_log' returning value",
  );
  db.prepare("insert or ignore into counters (name, value) values ('event_log', 0)").run();
  const event = db.prepare(
    "insert into event_log (seq, id, time, source, detail_type, json, bus) values (?, ?, ?, 'aws.inspector2', 'Inspector2 Finding', ?, 'default')",
  );
  const envelope = filler(EVENT_BYTES - 120);
  const chunks = Math.ceil(IMAGES / CHUNK);
  const per = (total, c) => Math.floor(((c + 1) * total) / chunks) - Math.floor((c * total) / chunks);
  const spent = { read: 0, create: 0, update: 0, observe: 0, events: 0, commit: 0, checkpoint: 0 };
  const at = 2;
  const t0 = performance.now();
  for (let c = 0; c < chunks; c++) {
    let t = performance.now();
    const lap = (part) => {
      const now = performance.now();
      spent[part] += now - t;
      t = now;
    };
    db.exec("begin immediate");
    const images = [];
    const stored = [];
    for (let i = c * CHUNK; i < Math.min(IMAGES, (c + 1) * CHUNK); i++) {
      const img = image(i);
      images.push(img);
      for (const r of read.all(img.repositoryId, img.digest)) stored.push(r.id);
    }
    lap("read");
    const created = [];
    for (let k = 0, want = per(CREATED, c); k < want; k++) {
      const img = images[k % images.length];
      const row = findingRow(img, "CVE-2026-0001", k % 2 ? "libc-bin" : "libc6", at);
      insert.run(row);
      interval.run(row.id, img.repositoryId, row.severity, at);
      created.push(row.id);
    }
    lap("create");
    const updates = Math.min(per(UPDATED, c), stored.length);
    for (let k = 0; k < updates; k++)
      update.run("HIGH", "YES", at, at, `{"doc":"${filler(DOCUMENT_BYTES - 12)}"}`, stored[k]);
    lap("update");
    if (lean) for (const img of images) observeImage.run(img.repositoryId, img.digest, at);
    else
      for (let k = 0, want = per(OBSERVED, c); k < want && stored.length; k++)
        observe.run(at, stored[(updates + k) % stored.length]);
    lap("observe");
    const changes = [...created, ...stored.slice(0, updates)];
    const last = counter.get(changes.length).value;
    changes.forEach((id, k) =>
      event.run(
        last - changes.length + 1 + k,
        hex(16),
        at,
        lean
          ? `{"finding":"${id}","change":"${k < created.length ? "created" : "updated"}","at":${at}}`
          : `{"id":"${id}","detail":"${envelope}"}`,
      ),
    );
    lap("events");
    db.exec("commit");
    lap("commit");
    // Drydock checkpoints on a thread of its own after commits (sqlite-checkpointer.ts); the
    // same work here, timed apart: a thread could overlap it with the writer.
    db.pragma("wal_checkpoint(PASSIVE)");
    lap("checkpoint");
  }
  const s = Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, v / 1000]));
  const all = (performance.now() - t0) / 1000;
  db.close();
  return { ...s, total: all - s.checkpoint, all };
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  // Kept for the next run, keyed by the migrations it was made with.
  const schema = createHash("sha256")
    .update(readFileSync(join(dist, "storage/meta/migrations.js")))
    .digest("hex");
  const filled = join(WORK, `filled-s${SCALE}-seed${SEED}-${schema.slice(0, 12)}.db`);
  log(
    `SCALE=${SCALE}: ${fmt(IMAGES)} images, ${fmt(STORED)} findings; (a) creates ${fmt(CREATED)}, updates ${fmt(UPDATED)}, observes ${fmt(OBSERVED)}; load ${loadavg()}`,
  );
  if (!existsSync(filled)) await fill(filled);
  const results = {};
  for (const v of VARIANTS) {
    const file = join(WORK, `run-${v}.db`);
    for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true });
    copyFileSync(filled, file);
    log(`${v}: writing (a)`);
    results[v] = { ...rematch(file, v), bytes: statSync(file).size };
    log(`${v}: ${fmt(results[v].total, 1)} s (load ${loadavg()})`);
    for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true });
  }
  const ref = results.schema?.total;
  const rows = [
    [
      "variant",
      "read",
      "create",
      "update",
      "observe",
      "events",
      "commit",
      "writer s",
      "x goal",
      "x schema",
      "checkpoints s",
      "with them s",
      "file MiB",
    ],
  ];
  for (const [v, r] of Object.entries(results))
    rows.push([
      v,
      ...["read", "create", "update", "observe", "events", "commit", "total"].map((k) => fmt(r[k], 1)),
      fmt(r.total / GOAL_S, 2),
      ref ? fmt(r.total / ref, 2) : "-",
      fmt(r.checkpoint, 1),
      fmt(r.all, 1),
      fmt(r.bytes / MB),
    ]);
  console.log(
    `\nre-match (a) floor, SQLite alone, SCALE=${SCALE} (goal ${GOAL_S} s for all of (a)), load ${loadavg()}\n`,
  );
  console.log(table(rows));
  const file = writeResults("rematch-floor", {
    scale: SCALE,
    seed: SEED,
    eventBytes: EVENT_BYTES,
    documentBytes: DOCUMENT_BYTES,
    results,
  });
  console.log(`\nraw results: ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
