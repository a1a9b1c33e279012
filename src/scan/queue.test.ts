import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import {
  backoffMs,
  PermanentError,
  ScanQueue,
  type Job,
  type QueueHandler,
  type QueueOptions,
} from "./queue.js";

let dir: string;
let meta: MetaStore;
let repo: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-queue-"));
  meta = await openSqliteMetaStore(join(dir, "meta.db"));
  repo = await meta.ensureRepository("app");
});
afterEach(async () => {
  await meta.close();
  await rm(dir, { recursive: true, force: true });
});

const OPTS: QueueOptions = {
  concurrency: 2,
  maxAttempts: 3,
  retryBaseMs: 10,
  leaseMs: 200,
  pollIntervalMs: 20,
};

async function enqueue(digest = "sha256:aa"): Promise<void> {
  await meta.tx((tx) =>
    ScanQueue.enqueue(tx, { repositoryId: repo, digest, scanType: "BASIC", reason: "push" }, Date.now()),
  );
}

const jobs = () => meta.db.selectFrom("scan_jobs").selectAll().execute();

async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function handler(
  run: (job: Job) => Promise<void>,
  failures: { job: Job; reason: string }[] = [],
): QueueHandler {
  return {
    run: async (job) => {
      await run(job);
      return async () => undefined;
    },
    isTransient: (err) => !(err instanceof PermanentError),
    failed: async (_tx, job, reason) => {
      failures.push({ job, reason });
    },
  };
}

describe("scan queue", () => {
  it("backoff doubles per attempt with jitter, capped", () => {
    expect(backoffMs(1, 1000, () => 0.5)).toBe(1000);
    expect(backoffMs(2, 1000, () => 0.5)).toBe(2000);
    expect(backoffMs(4, 1000, () => 0.5)).toBe(8000);
    expect(backoffMs(30, 1000, () => 0.5)).toBe(300_000);
    expect(backoffMs(3, 1000, () => 0)).toBe(3200);
    expect(backoffMs(3, 1000, () => 1)).toBe(4800);
  });

  it("runs a job once and removes it", async () => {
    let runs = 0;
    const q = new ScanQueue(
      meta,
      handler(async () => void runs++),
      OPTS,
    );
    await enqueue();
    await q.start(true);
    await until(async () => (await jobs()).length === 0);
    await q.stop();
    expect(runs).toBe(1);
  });

  it("retries transient errors with backoff, then fails for good with the reason", async () => {
    const times: number[] = [];
    const failures: { job: Job; reason: string }[] = [];
    const q = new ScanQueue(
      meta,
      handler(async () => {
        times.push(Date.now());
        throw new Error("disk hiccup");
      }, failures),
      OPTS,
    );
    await enqueue();
    await q.start(true);
    await until(async () => (await jobs())[0]?.state === "failed");
    await q.stop();
    expect(times).toHaveLength(3);
    // Waits of ~10 ms then ~20 ms (±20 %).
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(8);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(16);
    const [row] = await jobs();
    expect(row).toMatchObject({ state: "failed", attempts: 3, last_error: "disk hiccup" });
    expect(failures.map((f) => f.reason)).toEqual(["disk hiccup"]);
  });

  it("a permanent error fails at once", async () => {
    const failures: { job: Job; reason: string }[] = [];
    let runs = 0;
    const q = new ScanQueue(
      meta,
      handler(async () => {
        runs++;
        throw new PermanentError("not an image");
      }, failures),
      OPTS,
    );
    await enqueue();
    await q.start(true);
    await until(async () => (await jobs())[0]?.state === "failed");
    await q.stop();
    expect(runs).toBe(1);
    expect(failures).toHaveLength(1);
  });

  it("a job left running by a crashed process is run again after a restart", async () => {
    await enqueue();
    // The previous process claimed it and died (lease far in the future, as if just renewed).
    await meta.db
      .updateTable("scan_jobs")
      .set({ state: "running", attempts: 1, lease_until: Date.now() + 3600_000 })
      .execute();
    let runs = 0;
    const q = new ScanQueue(
      meta,
      handler(async () => void runs++),
      OPTS,
    );
    await q.start(true);
    await until(async () => (await jobs()).length === 0);
    await q.stop();
    expect(runs).toBe(1);
  });

  it("without the restart reset, an expired lease makes a running job claimable (another worker died)", async () => {
    await enqueue();
    await meta.db
      .updateTable("scan_jobs")
      .set({ state: "running", attempts: 1, lease_until: Date.now() + 100 })
      .execute();
    const q = new ScanQueue(
      meta,
      handler(async () => undefined),
      OPTS,
    );
    expect(await q.claim()).toBeNull();
    await new Promise((r) => setTimeout(r, 150));
    expect(await q.claim()).toMatchObject({ state: "running", attempts: 2 });
  });

  it("a running job's lease is renewed, so a long scan is not claimed twice", async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new ScanQueue(
      meta,
      handler(async () => {
        runs++;
        await gate;
      }),
      { ...OPTS, leaseMs: 60 },
    );
    await enqueue();
    await q.start(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(await q.claim()).toBeNull();
    release();
    await until(async () => (await jobs()).length === 0);
    await q.stop();
    expect(runs).toBe(1);
  });

  it("bounds concurrency", async () => {
    let running = 0;
    let peak = 0;
    const q = new ScanQueue(
      meta,
      handler(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
      }),
      OPTS,
    );
    for (let i = 0; i < 6; i++) await enqueue(`sha256:${i}`);
    await q.start(true);
    await until(async () => (await jobs()).length === 0);
    await q.stop();
    expect(peak).toBe(2);
  });
});
