import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { silentLogger } from "../core/logger.js";
import { JobWorker } from "../jobs/worker.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { EventEnvelope } from "./envelope.js";
import { appendEvents } from "./log.js";
import { REPLAY_JOB, replayJobHandlers } from "./replay.js";

/**
 * Replays on a real SQLite store and the real job worker: the archive's events in the time
 * range go to the destination bus's rules (FilterArns narrowing them) with `replay-name`, page
 * by page; a cancel stops it.
 */

let dir: string;
let meta: MetaStore;
let worker: JobWorker | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-replay-"));
  meta = await openSqliteMetaStore(join(dir, "meta.db"));
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await meta.close();
  await rm(dir, { recursive: true, force: true });
});

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const event = (i: number, time: number): EventEnvelope => ({
  version: "0",
  id: `e${i}`,
  "detail-type": "T",
  source: "app",
  account: "123456789012",
  time: iso(time),
  region: "us-east-1",
  resources: [],
  detail: { i },
});

async function rule(name: string) {
  await meta.bus.putRule({
    bus: "default",
    name,
    eventPattern: JSON.stringify({ source: ["app"] }),
    scheduleExpression: null,
    state: "ENABLED",
    description: null,
    roleArn: null,
    createdBy: "123456789012",
  });
  await meta.bus.putTargets("default", name, [
    { Id: "t", Arn: "arn:aws:events:us-east-1:123456789012:api-destination/nowhere" },
  ]);
}

function startWorker() {
  worker = new JobWorker(meta, replayJobHandlers(meta, {}) as never, {
    concurrency: 1,
    maxAttempts: 3,
    retryBaseMs: 10,
    leaseMs: 5_000,
    pollIntervalMs: 10,
    log: silentLogger(),
  });
  void worker.start(false);
}

async function replay(name: string, start: number, end: number, filterArns?: string[]) {
  await meta.tx(async (tx) => {
    await tx.bus.createReplay({
      name,
      description: null,
      archive: "all",
      destination: {
        Arn: "arn:aws:events:us-east-1:123456789012:event-bus/default",
        ...(filterArns ? { FilterArns: filterArns } : {}),
      },
      eventStartTime: start,
      eventEndTime: end,
      state: "STARTING",
      stateReason: null,
    });
    await tx.jobs.enqueue({ kind: REPLAY_JOB, key: name, payload: { name } });
  });
}

async function settled(name: string) {
  const end = Date.now() + 20_000;
  for (;;) {
    const r = await meta.bus.getReplay(name);
    if (r && !["STARTING", "RUNNING", "CANCELLING"].includes(r.state)) return r;
    if (Date.now() > end) throw new Error(`replay ${name} still ${r?.state}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

it("replays the archived events of the range, in pages, with replay-name, to the rules FilterArns names", async () => {
  await meta.bus.putArchive({
    name: "all",
    bus: "default",
    description: null,
    eventPattern: null,
    retentionDays: 0,
    state: "ENABLED",
  });
  // 1,200 events a second apart, archived as they are logged.
  const t0 = Date.parse("2026-12-01T00:00:00Z");
  await meta.tx((tx) =>
    appendEvents(
      tx,
      Array.from({ length: 1_200 }, (_, i) => event(i, t0 + i * 1000)),
    ),
  );
  await rule("a");
  await rule("b");
  expect(await meta.deliveries.pending()).toBe(0);
  startWorker();
  // Events 100..1,149 (1,050 of them: three pages of 500), to rule a only.
  await replay("r1", t0 + 100_000, t0 + 1_149_000, ["arn:aws:events:us-east-1:123456789012:rule/a"]);
  const done = await settled("r1");
  expect(done).toMatchObject({ state: "COMPLETED", eventLastReplayedTime: t0 + 1_149_000 });
  expect(done.replayStartTime).not.toBeNull();
  expect(done.replayEndTime).not.toBeNull();
  expect(await meta.deliveries.pending({ rule: "a" })).toBe(1_050);
  expect(await meta.deliveries.pending({ rule: "b" })).toBe(0);
  const claimed = await meta.deliveries.claim(2_000, 60_000);
  const replayed = claimed.map((d) => JSON.parse(d.eventJson!) as EventEnvelope & { "replay-name": string });
  expect(replayed.every((e) => e["replay-name"] === "r1")).toBe(true);
  expect(new Set(replayed.map((e) => e.id)).size).toBe(1_050);
  // Replayed events are not archived again.
  expect((await meta.bus.archiveStats("all")).eventCount).toBe(1_200);
});

it("a cancelled replay ends CANCELLED without delivering", async () => {
  await meta.bus.putArchive({
    name: "all",
    bus: "default",
    description: null,
    eventPattern: null,
    retentionDays: 0,
    state: "ENABLED",
  });
  await appendEvents(meta, [event(1, Date.parse("2026-12-01T00:00:00Z"))]);
  await rule("a");
  await replay("r2", 0, Date.parse("2027-01-01T00:00:00Z"));
  await meta.bus.updateReplay("r2", { state: "CANCELLING" });
  startWorker();
  expect((await settled("r2")).state).toBe("CANCELLED");
  expect(await meta.deliveries.pending()).toBe(0);
});
