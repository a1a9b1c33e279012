import type { Logger } from "../core/logger.js";
import type { Database } from "../storage/meta/schema.js";
import type { MetaStore } from "../storage/meta/store.js";

/**
 * The durable scan queue: jobs are rows of scan_jobs in the metadata database, so they survive
 * restarts. A worker claims a job by setting a lease (`lease_until`) that it renews while the
 * job runs; a job whose lease expired (its worker died) is claimable again, and on startup the
 * embedded server releases every running job at once (it is the only worker). Transient errors
 * are retried with exponential backoff; permanent ones, or the last attempt, end the job in
 * `failed` with the reason, in the same transaction as the handler's failure bookkeeping.
 */

export type Job = Database["scan_jobs"] & { id: number };

/** What a handler does once the job's work is done: runs in the transaction that ends the job. */
export type Commit = (tx: MetaStore) => Promise<void>;

export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentError";
  }
}

export interface QueueHandler {
  /** Does the work outside any transaction and returns what to write when it succeeds. */
  run(job: Job): Promise<Commit>;
  /** Whether an error may go away on retry (I/O, a database being replaced). */
  isTransient(err: unknown): boolean;
  /** Bookkeeping of a job that failed for good (the image's FAILED state and event). */
  failed(tx: MetaStore, job: Job, reason: string): Promise<void>;
}

export interface QueueOptions {
  concurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  now?: () => number;
  log?: Logger;
}

export const MAX_BACKOFF_MS = 5 * 60_000;

/** Delay before attempt `attempts + 1`: base · 2^(attempts-1), ±20 % jitter, capped. */
export function backoffMs(attempts: number, baseMs: number, random = Math.random): number {
  const raw = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export class ScanQueue {
  private running = 0;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(
    private readonly meta: MetaStore,
    private readonly handler: QueueHandler,
    private readonly opts: QueueOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Inserts a job (call with the transaction that makes it necessary); wake() after commit. */
  static async enqueue(
    tx: MetaStore,
    j: { repositoryId: number; digest: string; scanType: "BASIC" | "ENHANCED"; reason: string },
    now: number,
  ): Promise<void> {
    await tx.db
      .insertInto("scan_jobs")
      .values({
        repository_id: j.repositoryId,
        digest: j.digest,
        scan_type: j.scanType,
        reason: j.reason,
        state: "queued",
        attempts: 0,
        run_after: now,
        lease_until: null,
        last_error: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  /**
   * Starts the workers. `releaseRunning`: every job marked running belongs to a previous run of
   * this process (embedded mode, one worker process), so it is queued again now rather than
   * after its lease expires.
   */
  async start(releaseRunning: boolean): Promise<void> {
    if (releaseRunning) {
      const r = await this.meta.db
        .updateTable("scan_jobs")
        .set({ state: "queued", lease_until: null, run_after: this.now(), updated_at: this.now() })
        .where("state", "=", "running")
        .executeTakeFirst();
      const n = Number(r.numUpdatedRows);
      if (n) this.opts.log?.warn({ jobs: n }, "scan jobs interrupted by a restart are queued again");
    }
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.opts.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops claiming jobs and waits for those in flight (their commit included). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Looks for work now (after a job was queued). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.running < this.opts.concurrency) {
      let job: Job | null;
      try {
        job = await this.claim();
      } catch (err) {
        this.opts.log?.error({ err }, "scan queue: cannot claim a job");
        return;
      }
      if (!job) return;
      this.running++;
      const p = this.execute(job).finally(() => {
        this.running--;
        this.inFlight.delete(p);
        this.wake();
      });
      this.inFlight.add(p);
    }
  }

  /** The oldest runnable job (queued and due, or running with an expired lease), leased to us. */
  async claim(): Promise<Job | null> {
    const now = this.now();
    return this.meta.tx(async (tx) => {
      const job = await tx.db
        .selectFrom("scan_jobs")
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb("state", "=", "queued"), eb("run_after", "<=", now)]),
            eb.and([eb("state", "=", "running"), eb("lease_until", "<", now)]),
          ]),
        )
        .orderBy("run_after")
        .orderBy("id")
        .limit(1)
        .executeTakeFirst();
      if (!job) return null;
      const claimed = {
        ...job,
        state: "running" as const,
        attempts: job.attempts + 1,
        lease_until: now + this.opts.leaseMs,
        updated_at: now,
      };
      await tx.db
        .updateTable("scan_jobs")
        .set({
          state: "running",
          attempts: claimed.attempts,
          lease_until: claimed.lease_until,
          updated_at: now,
        })
        .where("id", "=", job.id)
        .execute();
      return claimed as Job;
    });
  }

  private async execute(job: Job): Promise<void> {
    const renew = setInterval(
      () => {
        void this.meta.db
          .updateTable("scan_jobs")
          .set({ lease_until: this.now() + this.opts.leaseMs })
          .where("id", "=", job.id)
          .where("state", "=", "running")
          .execute()
          .catch(() => undefined);
      },
      Math.max(10, Math.floor(this.opts.leaseMs / 3)),
    );
    renew.unref();
    try {
      const commit = await this.handler.run(job);
      await this.meta.tx(async (tx) => {
        await commit(tx);
        await tx.db.deleteFrom("scan_jobs").where("id", "=", job.id).execute();
      });
    } catch (err) {
      await this.fail(job, err).catch((e: unknown) =>
        this.opts.log?.error({ err: e, job: job.id }, "scan queue: cannot record a failure"),
      );
    } finally {
      clearInterval(renew);
    }
  }

  private async fail(job: Job, err: unknown): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err);
    const now = this.now();
    const transient = this.handler.isTransient(err);
    if (transient && job.attempts < this.opts.maxAttempts) {
      const delay = backoffMs(job.attempts, this.opts.retryBaseMs);
      this.opts.log?.warn({ job: job.id, attempt: job.attempts, delay, reason }, "scan failed; retrying");
      await this.meta.db
        .updateTable("scan_jobs")
        .set({
          state: "queued",
          lease_until: null,
          run_after: now + delay,
          last_error: reason,
          updated_at: now,
        })
        .where("id", "=", job.id)
        .execute();
      return;
    }
    this.opts.log?.warn({ job: job.id, attempts: job.attempts, reason }, "scan failed");
    await this.meta.tx(async (tx) => {
      await this.handler.failed(tx, job, reason);
      await tx.db
        .updateTable("scan_jobs")
        .set({ state: "failed", lease_until: null, last_error: reason, updated_at: now })
        .where("id", "=", job.id)
        .execute();
    });
  }

  /** Jobs waiting or running (for metrics and the benchmark). */
  async depth(): Promise<{ queued: number; running: number }> {
    const rows = await this.meta.db
      .selectFrom("scan_jobs")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
      .where("state", "in", ["queued", "running"])
      .groupBy("state")
      .execute();
    const get = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
    return { queued: get("queued"), running: get("running") };
  }
}
