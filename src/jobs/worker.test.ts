import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metaDrivers } from "../storage/meta/drivers-testing.js";
import { openPostgresMetaStore } from "../storage/meta/postgres.js";
import { freshPostgresDatabase, pgServerUrl } from "../storage/meta/postgres-testing.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import { overriding } from "../storage/meta/testing.js";
import type { MetaStore } from "../storage/meta/store.js";
import {
  backoffMs,
  JobWorker,
  NotYetError,
  PermanentError,
  type Job,
  type JobHandler,
  type WorkerOptions,
} from "./worker.js";

const OPTS: WorkerOptions = {
  concurrency: 2,
  maxAttempts: 3,
  retryBaseMs: 10,
  leaseMs: 200,
  pollIntervalMs: 20,
};

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
  commit: (tx: MetaStore, job: Job) => Promise<void> = async () => undefined,
): Record<string, JobHandler<never>> {
  const h: JobHandler = {
    run: async (job) => {
      await run(job);
      return (tx) => commit(tx, job);
    },
    isTransient: (err) => !(err instanceof PermanentError),
    failed: async (_tx, job, reason) => {
      failures.push({ job, reason });
    },
  };
  return { test: h };
}

it("backoff doubles per attempt with jitter, capped", () => {
  expect(backoffMs(1, 1000, () => 0.5)).toBe(1000);
  expect(backoffMs(2, 1000, () => 0.5)).toBe(2000);
  expect(backoffMs(4, 1000, () => 0.5)).toBe(8000);
  expect(backoffMs(30, 1000, () => 0.5)).toBe(300_000);
  expect(backoffMs(3, 1000, () => 0)).toBe(3200);
  expect(backoffMs(3, 1000, () => 1)).toBe(4800);
});

interface Driver {
  name: string;
  skip: boolean;
  open(): Promise<{ meta: MetaStore; another: () => Promise<MetaStore>; cleanup: () => Promise<void> }>;
}

const drivers: Driver[] = [
  {
    name: "sqlite",
    skip: false,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), "drydock-jobs-"));
      const meta = await openSqliteMetaStore(join(dir, "meta.db"));
      return {
        meta,
        // better-sqlite3 waits for a busy database by blocking the thread, so two SQLite
        // connections in one process stall each other: the "other process" shares the
        // connection (the job store's conformance suite covers a second connection).
        another: async () => overriding(meta, { close: async () => undefined }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: "postgres",
    skip: !pgServerUrl,
    async open() {
      const db = await freshPostgresDatabase();
      return {
        meta: openPostgresMetaStore(db.url),
        another: async () => openPostgresMetaStore(db.url),
        cleanup: db.drop,
      };
    },
  },
];

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`job worker (${driver.name})`, () => {
    let meta: MetaStore;
    let another: () => Promise<MetaStore>;
    let cleanup: () => Promise<void>;
    const opened: MetaStore[] = [];
    beforeEach(async () => {
      ({ meta, another, cleanup } = await driver.open());
    });
    afterEach(async () => {
      for (const m of opened.splice(0)) await m.close();
      await meta.close();
      await cleanup();
    });
    const second = async () => {
      const m = await another();
      opened.push(m);
      return m;
    };
    const enqueue = (payload: unknown = 1) => meta.tx((tx) => tx.jobs.enqueue({ kind: "test", payload }));
    const jobs = () => meta.jobs.list(["test"]);

    it("runs a job once and removes it", async () => {
      let runs = 0;
      const q = new JobWorker(
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
      const q = new JobWorker(
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
      expect((await jobs())[0]).toMatchObject({ state: "failed", attempts: 3, lastError: "disk hiccup" });
      expect(failures.map((f) => f.reason)).toEqual(["disk hiccup"]);
    });

    it("a job that cannot run yet is deferred without spending its attempts", async () => {
      let runs = 0;
      const q = new JobWorker(
        meta,
        handler(async () => {
          runs++;
          if (runs <= 5) throw new NotYetError("database too old", 5);
        }),
        OPTS,
      );
      await enqueue();
      await q.start(true);
      await until(async () => (await jobs()).length === 0);
      await q.stop();
      // More deferrals than maxAttempts (3), and the job still ran to completion.
      expect(runs).toBe(6);
    });

    it("a permanent error fails at once", async () => {
      const failures: { job: Job; reason: string }[] = [];
      let runs = 0;
      const q = new JobWorker(
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

    it("a job left running by a crashed embedded process runs again at its restart", async () => {
      await enqueue();
      // The previous process claimed it and died (with a lease far in the future).
      expect(await meta.jobs.claim(["test"], 3600_000)).not.toBeNull();
      let runs = 0;
      const q = new JobWorker(
        meta,
        handler(async () => void runs++),
        OPTS,
      );
      await q.start(true);
      await until(async () => (await jobs()).length === 0);
      await q.stop();
      expect(runs).toBe(1);
    });

    it("a dead worker's job is taken over by another after its lease, and runs to completion once", async () => {
      await enqueue();
      // Worker A claimed it with a short lease and died (never renews).
      expect(await meta.jobs.claim(["test"], 100)).not.toBeNull();
      const other = await second();
      let runs = 0;
      const q = new JobWorker(
        other,
        handler(async () => void runs++),
        OPTS,
      );
      await q.start(false);
      await until(async () => (await jobs()).length === 0);
      await q.stop();
      expect(runs).toBe(1);
    });

    it("a running job's lease is renewed, so a long job is not taken by another worker", async () => {
      let runs = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const q = new JobWorker(
        meta,
        handler(async () => {
          runs++;
          await gate;
        }),
        { ...OPTS, leaseMs: 90 },
      );
      await enqueue();
      await q.start(true);
      await new Promise((r) => setTimeout(r, 400));
      expect(await (await second()).jobs.claim(["test"], 1000)).toBeNull();
      release();
      await until(async () => (await jobs()).length === 0);
      await q.stop();
      expect(runs).toBe(1);
    });

    it("a worker whose lease was taken over cannot commit: its writes roll back", async () => {
      const other = await second();
      let stolen: Job | null = null;
      const q = new JobWorker(
        meta,
        handler(
          async () => {
            // Meanwhile the lease is lost (a partition, a pause) and another worker claims the job.
            await other.jobs.releaseRunning();
            stolen = (await other.jobs.claim(["test"], 60_000)) as Job | null;
          },
          [],
          async (tx) => {
            await tx.events.append({ id: "late", time: 1, source: "t", detailType: "t", json: "{}" });
          },
        ),
        OPTS,
      );
      await enqueue();
      await q.start(false);
      await until(async () => stolen !== null);
      await new Promise((r) => setTimeout(r, 100));
      await q.stop();
      expect(await meta.events.read(0)).toEqual([]);
      expect(await meta.jobs.complete(stolen!.id, stolen!.leaseToken)).toBe(true);
    });

    it("what a commit returns runs once its transaction has committed, never when the lease was lost", async () => {
      const other = await second();
      const after: { payload: unknown; committed: boolean }[] = [];
      const h: JobHandler = {
        run: async (job) => {
          if (job.payload === "lost") {
            await other.jobs.releaseRunning();
            await other.jobs.claim(["test"], 60_000);
          }
          return async (tx) => {
            await tx.events.append({
              id: String(job.payload),
              time: 1,
              source: "t",
              detailType: "t",
              json: "{}",
            });
            return () => {
              after.push({ payload: job.payload, committed: false });
              // Called after the commit: the event is visible to another connection.
              void meta.events.read(0).then((events) => {
                after.find((a) => a.payload === job.payload)!.committed = events.some(
                  (e) => e.id === job.payload,
                );
              });
            };
          };
        },
        isTransient: () => true,
        failed: async () => undefined,
      };
      const q = new JobWorker(meta, { test: h } as Record<string, JobHandler<never>>, OPTS);
      await enqueue("ok");
      await q.start(false);
      await until(async () => after.length === 1 && after[0]!.committed);
      await enqueue("lost");
      q.wake();
      await until(async () =>
        (await meta.jobs.list(["test"])).every((j) => j.payload !== "lost" || j.state === "running"),
      );
      await new Promise((r) => setTimeout(r, 100));
      await q.stop();
      expect(after).toEqual([{ payload: "ok", committed: true }]);
    });

    it("two workers run every job exactly once", async () => {
      const other = await second();
      const seen: number[] = [];
      const h = handler(async (job) => {
        seen.push(job.payload as number);
        await new Promise((r) => setTimeout(r, 5));
      });
      const a = new JobWorker(meta, h, OPTS);
      const b = new JobWorker(other, h, OPTS);
      for (let i = 0; i < 20; i++) await enqueue(i);
      await Promise.all([a.start(false), b.start(false)]);
      await until(async () => (await jobs()).length === 0);
      await Promise.all([a.stop(), b.stop()]);
      expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });

    it("bounds concurrency", async () => {
      let running = 0;
      let peak = 0;
      const q = new JobWorker(
        meta,
        handler(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 30));
          running--;
        }),
        OPTS,
      );
      for (let i = 0; i < 6; i++) await enqueue(i);
      await q.start(true);
      await until(async () => (await jobs()).length === 0);
      await q.stop();
      expect(peak).toBe(2);
    });
  });
}

describe.each(metaDrivers("job worker wake-up"))("job worker wake-up (%s)", (_driver, open) => {
  it("an idle worker runs a job another process queues at once, not at its next poll", async () => {
    // The worker is on another connection (another node), its poll a minute: only the
    // enqueueing commit's signal can wake it.
    const f = await open(Date.now);
    const other = await f.another();
    let ranAt = 0;
    const w = new JobWorker(
      other,
      handler(async () => void (ranAt = Date.now())),
      { ...OPTS, pollIntervalMs: 60_000 },
    );
    try {
      await w.start(false);
      await new Promise((r) => setTimeout(r, 200)); // its first look found nothing
      const t0 = Date.now();
      await f.store.jobs.enqueue({ kind: "test", payload: 1 });
      await until(async () => ranAt > 0);
      expect(ranAt - t0).toBeLessThan(2_000);
    } finally {
      await w.stop();
      await other.close();
      await f.store.close();
      await f.cleanup();
    }
  });
});
