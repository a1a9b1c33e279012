#!/usr/bin/env node
// The event bus's speed (issue 12), in one run:
//
//   npm run bench:events        (npm run build, then node --expose-gc bench/events.mjs)
//
// (a) matching: events per second through the compiled rule index with 10, 1,000 and 10,000
//     rules and the cost ratio 10,000 / 10 (bench/events-match.mjs, which also runs alone as
//     npm run bench:events-match). Goals: >= 20,000 events/s with 1,000 rules on one core;
//     10,000 rules at most twice the cost per event of 10.
// (b) delivery throughput, black-box: `drydock serve` (SQLite, a temporary data directory), a
//     connection, an API destination on a local node:http receiver that answers 200, a rule on
//     the events' source and its target, created with @aws-sdk/client-eventbridge. DELIVERIES
//     (20,000) events are put in batches of 10 by CLIENTS (8) concurrent PutEvents callers
//     (signed AWS JSON requests made here: the SDK's ~2.4 ms of CPU a call would come out of the
//     server's share of the machine); the figure is deliveries per second from the first
//     PutEvents to the moment the server's counter drydock_event_deliveries_total{outcome=
//     "delivered"} (incremented after the outcomes' transaction commits) reaches them all. Goal: >= 2,000 deliveries/s committed
//     durably. Reference, same run: the receiver's own capacity with a plain keep-alive client
//     at the deliverer's concurrency (64).
// (c) latency when idle: LATENCY_EVENTS (200) events, one PutEvents each, INTERVAL_MS (20) apart;
//     per event, from the PutEvents response (its entry is committed) to the receiver's request
//     (p50, p99, max; also from the request's start, which bounds it from above: the server may
//     send the delivery before its answer reaches the client). Goal: p99 under 100 ms.
//     Reference: a plain request's round trip to the receiver.
//
// Environment: SKIP_MATCH=1 / SKIP_DELIVERY=1 (one part only), DELIVERIES, CLIENTS,
// LATENCY_EVENTS, INTERVAL_MS, DRYDOCK_ENTRY (dist/cli/main.js), BENCH_WORKDIR (a temporary
// directory, removed afterwards), CPU_PROF_DIR (run the server with --cpu-prof there), and
// events-match's EVENTS, SECONDS, ROUNDS, SIZES.
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { Worker } from "node:worker_threads";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { freePort, loadavg, log, pct, procCpuSeconds, sleep, table, writeResults } from "./common.mjs";
import { matchBenchmark, matchReport } from "./events-match.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cli = resolve(process.env.DRYDOCK_ENTRY ?? join(repoRoot, "dist/cli/main.js"));
const DELIVERIES = Number(process.env.DELIVERIES ?? 20_000);
const CLIENTS = Number(process.env.CLIENTS ?? 8);
const LATENCY_EVENTS = Number(process.env.LATENCY_EVENTS ?? 200);
const INTERVAL_MS = Number(process.env.INTERVAL_MS ?? 20);
const ACCOUNT = "123456789012";
const AKID = "AKIABENCHEVENTS00001";
const SECRET = "bench-events-secret-0123456789abcdef";

// @aws-sdk v3 warns once that its releases after January 2027 need Node 22: not this benchmark's concern.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (w, ...rest) =>
  String(w?.name ?? rest[0]?.type ?? rest[0]).includes("NodeVersionSupportWarning") ||
  String(w).includes("NodeVersionSupportWarning")
    ? undefined
    : emitWarning(w, ...rest);

/**
 * A node:http receiver answering 200 to everything, on a worker thread (so that the PutEvents
 * callers of this process do not slow it down): when event `detail.seq` arrived (ms since the
 * epoch, performance.timeOrigin + now(), comparable across threads) goes into a shared array.
 */
async function startReceiver(slots) {
  const shared = new SharedArrayBuffer(slots * 8 + 8);
  const arrivals = new Float64Array(shared, 8, slots);
  const counters = new Int32Array(shared, 0, 2); // [event requests, all requests]
  const port = await freePort();
  const worker = new Worker(
    `
    const { workerData, parentPort } = require("node:worker_threads");
    const { createServer } = require("node:http");
    const { port, shared, slots } = workerData;
    const arrivals = new Float64Array(shared, 8, slots);
    const counters = new Int32Array(shared, 0, 2);
    const server = createServer({ keepAliveTimeout: 60000 }, (req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const at = performance.timeOrigin + performance.now();
        Atomics.add(counters, 1, 1);
        let seq;
        try {
          seq = JSON.parse(Buffer.concat(chunks).toString("utf8"))?.detail?.seq;
        } catch {}
        if (typeof seq === "number" && seq >= 0 && seq < slots) {
          Atomics.add(counters, 0, 1);
          if (arrivals[seq] === 0) arrivals[seq] = at;
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    server.listen(port, "127.0.0.1", () => parentPort.postMessage("listening"));
    parentPort.on("message", () => server.close(() => process.exit(0)));
    `,
    { eval: true, workerData: { port, shared, slots } },
  );
  await new Promise((res, rej) => {
    worker.once("message", res);
    worker.once("error", rej);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** When event `seq` arrived (ms since the epoch), 0 if not yet. */
    arrival: (seq) => arrivals[seq],
    eventRequests: () => Atomics.load(counters, 0),
    requests: () => Atomics.load(counters, 1),
    stop: () =>
      new Promise((r) => {
        worker.once("exit", r);
        worker.postMessage("stop");
      }),
  };
}

const nowMs = () => performance.timeOrigin + performance.now();

const sha256hex = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

/**
 * PutEvents over the AWS JSON 1.1 protocol with a hand-made SigV4 signature and one keep-alive
 * agent: the SDK spends a few milliseconds of CPU a call, which on a 2-core machine is taken
 * from the server being measured. (The SDK sets everything up, so it is exercised too.)
 */
function rawPutEvents(endpoint) {
  const { hostname, port } = new URL(endpoint);
  const host = `${hostname}:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const keys = new Map();
  const signingKey = (date) => {
    let k = keys.get(date);
    if (!k) {
      k = hmac(hmac(hmac(hmac(`AWS4${SECRET}`, date), "us-east-1"), "events"), "aws4_request");
      keys.set(date, k);
    }
    return k;
  };
  const send = (entries) => {
    const body = JSON.stringify({ Entries: entries });
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const date = amzDate.slice(0, 8);
    const target = "AWSEvents.PutEvents";
    const type = "application/x-amz-json-1.1";
    const signed = "content-type;host;x-amz-date;x-amz-target";
    const canonical = [
      "POST",
      "/",
      "",
      `content-type:${type}`,
      `host:${host}`,
      `x-amz-date:${amzDate}`,
      `x-amz-target:${target}`,
      "",
      signed,
      sha256hex(body),
    ].join("\n");
    const scope = `${date}/us-east-1/events/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonical)].join("\n");
    const signature = createHmac("sha256", signingKey(date)).update(toSign).digest("hex");
    return new Promise((res, rej) => {
      const req = request(
        {
          host: hostname,
          port,
          method: "POST",
          path: "/",
          agent,
          headers: {
            "content-type": type,
            "x-amz-date": amzDate,
            "x-amz-target": target,
            authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
          },
        },
        (r) => {
          const chunks = [];
          r.on("data", (c) => chunks.push(c));
          r.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (r.statusCode !== 200) rej(new Error(`PutEvents: HTTP ${r.statusCode} ${text}`));
            else res(JSON.parse(text));
          });
        },
      );
      req.on("error", rej);
      req.end(body);
    });
  };
  return { send, close: () => agent.destroy() };
}

/** The receiver's own capacity: `n` POSTs of `body` from a keep-alive client, `concurrency` at once. */
async function rawCapacity(port, n, concurrency, body) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const one = () =>
    new Promise((res, rej) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/raw",
          agent,
          headers: { "content-type": "application/json" },
        },
        (r) => {
          r.resume();
          r.on("end", res);
        },
      );
      req.on("error", rej);
      req.end(body);
    });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        await one();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  // Round trips one at a time (the reference for the latency figures).
  const rtts = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await one();
    rtts.push(performance.now() - t);
  }
  agent.destroy();
  return { perSecond: n / seconds, rttP50: pct(rtts, 50), rttP99: pct(rtts, 99) };
}

async function startDrydock(work) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const cfgFile = join(work, "config.json");
  writeFileSync(
    cfgFile,
    JSON.stringify({
      aws: { accountId: ACCOUNT, credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      vulndb: { updateIntervalHours: 0 },
    }),
  );
  const env = { ...process.env, NODE_NO_WARNINGS: "1" };
  for (const k of Object.keys(env)) if (k.startsWith("DRYDOCK_")) delete env[k];
  const child = spawn(
    process.execPath,
    [
      ...(process.env.CPU_PROF_DIR
        ? [
            "--cpu-prof",
            `--cpu-prof-dir=${process.env.CPU_PROF_DIR}`,
            "--cpu-prof-name=drydock-serve.cpuprofile",
          ]
        : []),
      cli,
      "serve",
      "--config",
      cfgFile,
      "--data",
      join(work, "data"),
      "--listen",
      addr,
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env },
  );
  let tail = "";
  child.stderr.on("data", (c) => (tail = (tail + c).slice(-8000)));
  const exited = new Promise((r) => child.once("exit", r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`drydock exited with ${child.exitCode}\n${tail}`);
    try {
      if ((await fetch(`http://${addr}/readyz`)).status === 200) break;
    } catch {
      /* not up yet */
    }
    if (i > 600) {
      await stop();
      throw new Error(`drydock did not start\n${tail}`);
    }
    await sleep(50);
  }
  return { url: `http://${addr}`, pid: child.pid, stop, tail: () => tail };
}

/** Sum of a counter's samples with these labels in the server's /metrics. */
async function metric(url, name, labels = {}) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

const entry = (seq) => ({
  Source: "bench.events",
  DetailType: "Bench Event",
  Detail: JSON.stringify({ seq, repository: `repo-${seq % 100}`, padding: "x".repeat(200) }),
});

async function deliveryBenchmark() {
  const work = process.env.BENCH_WORKDIR ?? mkdtempSync(join(tmpdir(), "drydock-bench-events-"));
  // Event numbers (detail.seq): the throughput run's 0..DELIVERIES-1, then the latency run's,
  // then the warm-up's.
  const WARM = 100;
  const latencySeq = (i) => DELIVERIES + i;
  const warmSeq = (i) => DELIVERIES + LATENCY_EVENTS + i;
  const receiver = await startReceiver(DELIVERIES + LATENCY_EVENTS + WARM);
  let dd;
  let raw;
  try {
    log(
      `delivery: load average ${loadavg()}; ${DELIVERIES} deliveries from ${CLIENTS} clients; latency ${LATENCY_EVENTS} events ${INTERVAL_MS} ms apart`,
    );
    const sample = JSON.stringify({
      detail: { padding: "x".repeat(200) },
      source: "bench.events",
      id: "0".repeat(36),
    });
    const reference = await rawCapacity(receiver.port, Math.min(DELIVERIES, 20_000), 64, sample);
    log(
      `receiver alone: ${Math.round(reference.perSecond)} requests/s; round trip p50 ${reference.rttP50.toFixed(2)} ms`,
    );

    dd = await startDrydock(work);
    const sdk = new EventBridgeClient({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    const conn = await sdk.send(
      new CreateConnectionCommand({
        Name: "bench",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "bench-key" } },
      }),
    );
    const dest = await sdk.send(
      new CreateApiDestinationCommand({
        Name: "bench",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${receiver.url}/events`,
        HttpMethod: "POST",
        // The default (300/s, as AWS) would be the figure; the receiver takes far more.
        InvocationRateLimitPerSecond: 1_000_000,
      }),
    );
    await sdk.send(
      new PutRuleCommand({ Name: "bench", EventPattern: JSON.stringify({ source: ["bench.events"] }) }),
    );
    raw = rawPutEvents(dd.url);
    const put = await sdk.send(
      new PutTargetsCommand({ Rule: "bench", Targets: [{ Id: "bench", Arn: dest.ApiDestinationArn }] }),
    );
    if (put.FailedEntryCount) throw new Error(`PutTargets failed: ${JSON.stringify(put.FailedEntries)}`);

    // Warm-up (not counted): the first deliveries open the connection, compile the rule index.
    for (let i = 0; i < WARM; i += 10)
      await sdk.send(
        new PutEventsCommand({ Entries: Array.from({ length: 10 }, (_, k) => entry(warmSeq(i + k))) }),
      );
    const deliveredBefore = async () =>
      metric(dd.url, "drydock_event_deliveries_total", { outcome: "delivered" });
    for (let i = 0; (await deliveredBefore()) < WARM; i++) {
      if (i > 600) throw new Error(`warm-up deliveries did not arrive\n${dd.tail()}`);
      await sleep(50);
    }
    const base = await deliveredBefore();

    // (b) throughput.
    const requestsBefore = receiver.requests();
    const eventRequestsBefore = receiver.eventRequests();
    const serverCpu0 = procCpuSeconds(dd.pid);
    const benchCpu0 = process.cpuUsage();
    let nextSeq = 0;
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (nextSeq < DELIVERIES) {
          const first = nextSeq;
          nextSeq = Math.min(DELIVERIES, nextSeq + 10);
          const entries = [];
          for (let s = first; s < nextSeq; s++) entries.push(entry(s));
          const r = await raw.send(entries);
          failed += r.FailedEntryCount ?? 0;
        }
      }),
    );
    const putSeconds = (performance.now() - t0) / 1000;
    if (failed) throw new Error(`${failed} PutEvents entries failed`);
    let receivedAt = NaN;
    let committedAt = NaN;
    const deadline = performance.now() + 600_000;
    for (;;) {
      if (Number.isNaN(receivedAt) && receiver.eventRequests() - eventRequestsBefore >= DELIVERIES)
        receivedAt = (performance.now() - t0) / 1000;
      if ((await deliveredBefore()) - base >= DELIVERIES) {
        committedAt = (performance.now() - t0) / 1000;
        if (Number.isNaN(receivedAt)) receivedAt = committedAt;
        break;
      }
      if (performance.now() > deadline) throw new Error(`deliveries not done after 10 minutes\n${dd.tail()}`);
      await sleep(20);
    }
    const serverCpu = procCpuSeconds(dd.pid) - serverCpu0;
    const benchCpu = process.cpuUsage(benchCpu0);
    const pending = await metric(dd.url, "drydock_event_deliveries_pending");
    const throughput = {
      deliveries: DELIVERIES,
      clients: CLIENTS,
      putSeconds,
      putEventsPerSecond: DELIVERIES / putSeconds,
      receivedSeconds: receivedAt,
      committedSeconds: committedAt,
      deliveriesPerSecond: DELIVERIES / committedAt,
      /** Requests beyond one per event (a delivery sent again: at least once). */
      duplicates: receiver.requests() - requestsBefore - DELIVERIES,
      pendingAfter: pending,
      /** CPU seconds over the run: the server's, and this process's (callers and receiver). */
      serverCpuSeconds: serverCpu,
      benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6,
    };
    log(`throughput: ${Math.round(throughput.deliveriesPerSecond)} deliveries/s committed`);

    // (c) latency when idle: one event at a time.
    await sleep(1000);
    const latencies = [];
    const fromStart = [];
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const seq = latencySeq(i);
      const sent = nowMs();
      const r = await raw.send([entry(seq)]);
      const committed = nowMs();
      if (r.FailedEntryCount) throw new Error("PutEvents entry failed");
      for (let k = 0; receiver.arrival(seq) === 0; k++) {
        if (k > 10_000) throw new Error(`event ${seq} not delivered in 10 s\n${dd.tail()}`);
        await sleep(1);
      }
      const at = receiver.arrival(seq);
      latencies.push(at - committed);
      fromStart.push(at - sent);
      await sleep(INTERVAL_MS);
    }
    const latency = {
      events: LATENCY_EVENTS,
      intervalMs: INTERVAL_MS,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      max: Math.max(...latencies),
      fromRequestP50: pct(fromStart, 50),
      fromRequestP99: pct(fromStart, 99),
      deliveredBeforeResponse: latencies.filter((x) => x < 0).length,
    };
    return { loadavg: loadavg(), reference, throughput, latency };
  } finally {
    raw?.close();
    await dd?.stop();
    await receiver.stop();
    if (!process.env.BENCH_WORKDIR) rmSync(work, { recursive: true, force: true });
  }
}

function deliveryReport({ reference, throughput: t, latency: l }) {
  const rows = [
    ["figure", "value", "reference (same run)", "ratio"],
    [
      "deliveries/s, committed (goal >= 2,000)",
      Math.round(t.deliveriesPerSecond),
      `receiver alone ${Math.round(reference.perSecond)} req/s`,
      (t.deliveriesPerSecond / reference.perSecond).toFixed(3),
    ],
    ["PutEvents entries/s (accepted)", Math.round(t.putEventsPerSecond), "", ""],
    [
      "CPU ms per delivery: server / this process",
      `${((1000 * t.serverCpuSeconds) / t.deliveries).toFixed(3)} / ${((1000 * t.benchCpuSeconds) / t.deliveries).toFixed(3)}`,
      `duplicates ${t.duplicates}, pending after ${t.pendingAfter}`,
      "",
    ],
    [
      // What the server would do with a core to itself (it shares two with this process and
      // whatever else runs): the figure to compare with the goal on a loaded machine.
      "deliveries per server CPU second",
      Math.round(t.deliveries / t.serverCpuSeconds),
      `server used ${((100 * t.serverCpuSeconds) / t.committedSeconds).toFixed(0)} % of a core`,
      "",
    ],
    [
      "all received / all committed (s)",
      `${t.receivedSeconds.toFixed(2)} / ${t.committedSeconds.toFixed(2)}`,
      `put ${t.putSeconds.toFixed(2)} s`,
      "",
    ],
    [
      "latency p50 / p99 / max (ms) (goal p99 < 100)",
      `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} / ${l.max.toFixed(1)}`,
      `round trip p50 ${reference.rttP50.toFixed(2)} / p99 ${reference.rttP99.toFixed(2)} ms`,
      (l.p99 / reference.rttP99).toFixed(1),
    ],
    [
      "from the request's start p50 / p99 (ms)",
      `${l.fromRequestP50.toFixed(1)} / ${l.fromRequestP99.toFixed(1)}`,
      `${l.deliveredBeforeResponse} of ${l.events} arrived before the response`,
      "",
    ],
  ];
  return table(rows, 1);
}

const report = { loadavg: loadavg() };
if (!process.env.SKIP_MATCH) {
  report.matching = await matchBenchmark();
  console.log(matchReport(report.matching));
}
if (!process.env.SKIP_DELIVERY) {
  report.delivery = await deliveryBenchmark();
  console.log(deliveryReport(report.delivery));
}
log(`results in ${writeResults("events", report)}`);
