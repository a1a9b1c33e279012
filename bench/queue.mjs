#!/usr/bin/env node
// Job queue benchmark: Drydock's JobStore (table jobs, FOR UPDATE SKIP LOCKED, lease tokens) versus
// pg-boss on the same throwaway PostgreSQL 15, same run; our JobStore on SQLite for reference.
//
//   npm run bench:queue        (as root: ../shared/tools/postgres/pg-up.sh runs the server as postgres)
//
// Measures, RUNS times (default 1, to stay within about 3 minutes; with more, the order of the two
// queues alternates between runs and the figures are medians):
//   (a) enqueue throughput: N jobs (default 5,000) one at a time by one caller, then by 4 concurrent
//       callers (ours: JobStore.enqueue, an INSERT; pg-boss: send());
//   (b) claim+complete throughput, the queue holding N jobs: 4 concurrent loops in this process, then
//       2 child processes with 2 loops each (4 in all). A loop claims one job and completes it until
//       the queue is empty. Ours completes in a transaction as the job worker does
//       (meta.tx(tx => tx.jobs.complete(id, token))); pg-boss: fetch({batchSize: 1}) then complete();
//   (c) takeover latency, TAKEOVERS times (default 5): worker A claims a job and then does nothing
//       (ours: never renews its 2 s lease; pg-boss: never completes, expireInSeconds 1, its minimum);
//       worker B is each library's own worker loop (ours: JobWorker from dist/jobs/worker.js;
//       pg-boss: work()), both polling every POLL_MS (default 500, pg-boss's minimum), started after
//       a random delay; the figure is how long after the lease / expiry B got the job. pg-boss only
//       re-queues an expired job in its maintenance (maintenanceIntervalSeconds 1 here, its minimum;
//       the default is 120), so that is included.
// The SQLite reference runs the same (a) and (b) (better-sqlite3 is synchronous: its "concurrent"
// loops in one process take turns).
//
// Environment: N (5000), RUNS (1), TAKEOVERS (5), POLL_MS (500), BENCH_WORKDIR (/tmp/drydock-bench-queue),
// DRYDOCK_SHARED (../shared). Exits 0 whatever the ratios; 1 only when it cannot run.
import { execFileSync, fork } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadavg, log, median, sleep, startPostgres, table, writeResults } from "./common.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => pathToFileURL(join(repoRoot, "dist", p)).href;
const PgBoss = createRequire(import.meta.url)("pg-boss");

const N = Number(process.env.N ?? 5000);
const RUNS = Number(process.env.RUNS ?? 1);
const TAKEOVERS = Number(process.env.TAKEOVERS ?? 5);
const POLL_MS = Number(process.env.POLL_MS ?? 500);
const LOOPS = 4;
const PROCESSES = 2;
const work = resolve(process.env.BENCH_WORKDIR ?? "/tmp/drydock-bench-queue");
const KIND = "bench";
const LEASE_MS = 2000;

// -------------------------------------------------------------------------- the two queues ----

/** Our JobStore on PostgreSQL or SQLite, behind the interface the loops use. */
async function openOurs(target) {
  const meta = target.startsWith("postgres")
    ? (await import(dist("storage/meta/postgres.js"))).openPostgresMetaStore(target)
    : await (await import(dist("storage/meta/sqlite.js"))).openSqliteMetaStore(target);
  return {
    meta,
    enqueue: (i) => meta.jobs.enqueue({ kind: KIND, payload: { i } }),
    /** Claims one job and completes it as the worker does; false when the queue is empty. */
    async claimComplete() {
      const job = await meta.jobs.claim([KIND], 60_000);
      if (!job) return false;
      const done = await meta.tx((tx) => tx.jobs.complete(job.id, job.leaseToken));
      if (!done) throw new Error(`job ${job.id}: completion refused`);
      return true;
    },
    close: () => meta.close(),
  };
}

/** pg-boss without maintenance (throughput), its queue created once. */
async function openBoss(url) {
  const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false, migrate: true });
  boss.on("error", (e) => log(`pg-boss error: ${e.message}`));
  await boss.start();
  if (!(await boss.getQueue(KIND))) await boss.createQueue(KIND, { retryLimit: 0 });
  return {
    boss,
    enqueue: async (i) => {
      if (!(await boss.send(KIND, { i }))) throw new Error("pg-boss send returned no id");
    },
    async claimComplete() {
      const [job] = await boss.fetch(KIND, { batchSize: 1 });
      if (!job) return false;
      await boss.complete(KIND, job.id);
      return true;
    },
    close: () => boss.stop({ graceful: false, wait: true }),
  };
}

const open = (system, target) => (system === "pgboss" ? openBoss(target) : openOurs(target));

// ------------------------------------------------------------------------------- loops ----

async function enqueueN(q, callers) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < N) await q.enqueue(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** `loops` concurrent claim+complete loops until the queue is empty; returns {count, endMs}. */
async function drain(q, loops) {
  let count = 0;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (await q.claimComplete()) count++;
    }),
  );
  return { count, end: Date.now() };
}

/** Child process: opens its queue, says ready, drains on "go", reports. */
async function child() {
  const [, , , system, target, loops] = process.argv;
  const q = await open(system, target);
  process.on("message", async (m) => {
    if (m !== "go") return;
    try {
      const r = await drain(q, Number(loops));
      await q.close();
      process.send({ ...r }, () => process.exit(0));
    } catch (e) {
      process.send({ error: String(e.stack ?? e) }, () => process.exit(1));
    }
  });
  process.send("ready");
}

/** Drains with `procs` child processes of `loops` loops each; returns seconds and the count. */
async function drainInChildren(system, target, procs, loops) {
  const kids = [];
  for (let i = 0; i < procs; i++) {
    const c = fork(fileURLToPath(import.meta.url), ["--child", system, target, String(loops)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const ready = new Promise((res, rej) => {
      c.once("message", (m) => (m === "ready" ? res() : rej(new Error(String(m)))));
      c.once("exit", (code) => rej(new Error(`child exited ${code} before ready`)));
    });
    kids.push({ c, ready });
  }
  await Promise.all(kids.map((k) => k.ready));
  const results = kids.map(
    (k) =>
      new Promise((res, rej) => {
        k.c.once("message", (m) => (m.error ? rej(new Error(m.error)) : res(m)));
        k.c.once("exit", (code) => code && rej(new Error(`child exited ${code}`)));
      }),
  );
  const t0 = Date.now();
  for (const k of kids) k.c.send("go");
  const rs = await Promise.all(results);
  return {
    seconds: (Math.max(...rs.map((r) => r.end)) - t0) / 1000,
    count: rs.reduce((a, r) => a + r.count, 0),
  };
}

/** (a) and (b) for one queue; returns jobs per second. */
async function throughput(system, target) {
  const q = await open(system, target);
  const out = {};
  try {
    out.enqueue1 = N / (await enqueueN(q, 1));
    const t0 = Date.now();
    const d = await drain(q, LOOPS);
    if (d.count !== N) throw new Error(`${system}: drained ${d.count} of ${N}`);
    out.claim4 = N / ((d.end - t0) / 1000);
    out.enqueue4 = N / (await enqueueN(q, LOOPS));
  } finally {
    await q.close();
  }
  const c = await drainInChildren(system, target, PROCESSES, LOOPS / PROCESSES);
  if (c.count !== N) throw new Error(`${system}: children drained ${c.count} of ${N}`);
  out.claim2x2 = N / c.seconds;
  return out;
}

// ---------------------------------------------------------------------------- takeover ----

async function takeoverOurs(url) {
  const { openPostgresMetaStore } = await import(dist("storage/meta/postgres.js"));
  const { JobWorker } = await import(dist("jobs/worker.js"));
  const meta = openPostgresMetaStore(url);
  const out = [];
  try {
    for (let i = 0; i < TAKEOVERS; i++) {
      await sleep(Math.random() * 1000);
      await meta.jobs.enqueue({ kind: "takeover", payload: { i } });
      const a = await meta.jobs.claim(["takeover"], LEASE_MS); // worker A: claims, never renews
      let got;
      const taken = new Promise((r) => (got = r));
      const b = new JobWorker(
        meta,
        {
          takeover: {
            run: async (job) => {
              got(job.leaseUntil - LEASE_MS); // B's claim time (the store's clock, as A's lease)
              return async () => undefined;
            },
            isTransient: () => false,
            failed: async () => undefined,
          },
        },
        { concurrency: 1, maxAttempts: 5, retryBaseMs: 1000, leaseMs: LEASE_MS, pollIntervalMs: POLL_MS },
      );
      await sleep(Math.random() * POLL_MS); // B's polling phase is random against A's lease
      await b.start(false);
      const claimedAt = await taken;
      await b.stop();
      out.push(claimedAt - a.leaseUntil);
    }
  } finally {
    await meta.close();
  }
  return out;
}

async function takeoverBoss(url) {
  const opts = { connectionString: url, schedule: false, migrate: false };
  // The supervising instance runs maintenance (which re-queues expired jobs) every second.
  const a = new PgBoss({ ...opts, supervise: true, maintenanceIntervalSeconds: 1 });
  const b = new PgBoss({ ...opts, supervise: false });
  for (const x of [a, b]) x.on("error", (e) => log(`pg-boss error: ${e.message}`));
  await a.start();
  await b.start();
  const Q = "takeover";
  if (!(await a.getQueue(Q))) await a.createQueue(Q, { expireInSeconds: 1, retryLimit: 100, retryDelay: 0 });
  const out = [];
  try {
    for (let i = 0; i < TAKEOVERS; i++) {
      await sleep(Math.random() * 1000);
      await a.send(Q, { i });
      const [job] = await a.fetch(Q, { includeMetadata: true }); // worker A: fetches, never completes
      const expiry = job.startedOn.getTime() + 1000;
      let got;
      const taken = new Promise((r) => (got = r));
      await sleep(Math.random() * POLL_MS);
      const id = await b.work(
        Q,
        { pollingIntervalSeconds: POLL_MS / 1000, includeMetadata: true },
        async ([j]) => got(j.startedOn.getTime()),
      );
      const claimedAt = await taken;
      await b.offWork({ id });
      out.push(claimedAt - expiry);
    }
  } finally {
    await b.stop({ graceful: false, wait: true });
    await a.stop({ graceful: false, wait: true });
  }
  return out;
}

// -------------------------------------------------------------------------------- main ----

async function main() {
  if (!existsSync(join(repoRoot, "dist/storage/meta/postgres.js")))
    throw new Error("dist/ missing: npm run build");
  if (process.getuid?.() !== 0)
    throw new Error("run as root (pg-up.sh runs PostgreSQL as the postgres user)");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const started = Date.now();
  const loadStart = loadavg();
  log(`load average ${loadStart}; starting PostgreSQL`);
  const pg = await startPostgres(join(work, "pg"));
  const report = {
    command: "npm run bench:queue",
    started: new Date(started).toISOString(),
    n: N,
    runs: RUNS,
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      node: process.version,
      loadStart,
      drydockCommit: execFileSync("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"], {
        encoding: "utf8",
      }).trim(),
    },
    pgboss: createRequire(import.meta.url)("pg-boss/package.json").version,
    postgresVersion: (await pg.psql("show server_version")).trim(),
  };
  try {
    // Schemas first, untimed: ours through its migrations, pg-boss through start().
    const ours = await openOurs(pg.url);
    await ours.meta.migrate();
    await ours.close();
    await (await openBoss(pg.url)).close();

    const per = { ours: [], pgboss: [] };
    for (let r = 1; r <= RUNS; r++) {
      const order = r % 2 ? ["ours", "pgboss"] : ["pgboss", "ours"];
      for (const s of order) {
        log(`run ${r}/${RUNS}: ${s} (load ${loadavg()})`);
        per[s].push(await throughput(s, pg.url));
      }
    }
    report.postgres = { ours: per.ours, pgboss: per.pgboss };

    log(`takeover: ours, ${TAKEOVERS} times (lease ${LEASE_MS} ms, poll ${POLL_MS} ms)`);
    report.takeoverOursMs = await takeoverOurs(pg.url);
    log(
      `takeover: pg-boss, ${TAKEOVERS} times (expireInSeconds 1, maintenance every 1 s, poll ${POLL_MS} ms)`,
    );
    report.takeoverBossMs = await takeoverBoss(pg.url);
  } finally {
    await pg.stop();
  }

  log("SQLite reference");
  report.sqlite = [];
  for (let r = 1; r <= RUNS; r++) {
    const file = join(work, `sqlite-${r}.db`);
    report.sqlite.push(await throughput("ours", file));
  }
  report.loadEnd = loadavg();
  report.seconds = Math.round((Date.now() - started) / 1000);

  // -------------------------------------------------------------------------- report ----
  const med = (rows, k) => median(rows.map((x) => x[k]));
  const o = report.postgres.ours;
  const b = report.postgres.pgboss;
  const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : "-");
  const lines = [];
  const p = (s = "") => lines.push(s);
  p();
  p(
    `Job queue: Drydock JobStore vs pg-boss ${report.pgboss}, PostgreSQL ${report.postgresVersion}, same run`,
  );
  p(`N = ${N} jobs, ${RUNS} runs (order alternating), medians; jobs per second (higher is better)`);
  p(
    `machine: ${report.machine.cores} cores ${report.machine.cpu}, node ${process.version}; drydock ${report.machine.drydockCommit}`,
  );
  p(`load average at start ${loadStart}, at end ${report.loadEnd}`);
  p();
  const rows = [["measurement", "ours/s", "pg-boss/s", "ours/pg-boss", "ours on SQLite/s"]];
  for (const [label, k] of [
    ["enqueue, 1 caller", "enqueue1"],
    ["enqueue, 4 concurrent callers", "enqueue4"],
    [`claim+complete, ${LOOPS} loops in 1 process`, "claim4"],
    [`claim+complete, ${PROCESSES} processes x ${LOOPS / PROCESSES} loops`, "claim2x2"],
  ]) {
    const sq = med(report.sqlite, k);
    rows.push([label, f0(med(o, k)), f0(med(b, k)), (med(o, k) / med(b, k)).toFixed(2), f0(sq)]);
  }
  p(table(rows));
  p();
  const ms = (xs) => xs.map((x) => x.toFixed(0)).join(", ");
  const tOurs = median(report.takeoverOursMs);
  const tBoss = median(report.takeoverBossMs);
  p(`takeover after the lease / expiry, ms (both workers poll every ${POLL_MS} ms; median, then each):`);
  p(
    `  ours    (lease ${LEASE_MS} ms, never renewed)             ${tOurs.toFixed(0)}  [${ms(report.takeoverOursMs)}]`,
  );
  p(
    `  pg-boss (expireInSeconds 1, maintenance every 1 s)     ${tBoss.toFixed(0)}  [${ms(report.takeoverBossMs)}]`,
  );
  p(`  ratio ours/pg-boss ${(tOurs / tBoss).toFixed(2)}`);
  p(`(${report.seconds} s)`);
  process.stdout.write(lines.join("\n") + "\n");
  log(`wrote ${writeResults("queue", report)}`);
}

if (process.argv[2] === "--child") {
  child().catch((e) => {
    process.stderr.write(`bench:queue child failed: ${e.stack ?? e}\n`);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`bench:queue failed: ${e.stack ?? e}\n`);
      process.exit(1);
    },
  );
}
