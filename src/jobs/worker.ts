import type { Logger } from "../core/logger.js";
import { Pump } from "./pump.js";
import type { JobRecord, MetaStore } from "../storage/meta/store.js";

/**
 * The job worker: claims jobs of the kinds it has handlers for from the durable queue (the
 * JobStore of storage/meta: SQLite embedded, PostgreSQL in a cluster, `FOR UPDATE SKIP LOCKED`
 * there), runs them with bounded concurrency, renews their lease while they run, and commits
 * each result in one transaction with the job's lease-fenced completion. A worker that dies
 * loses its jobs to another after the lease; a worker whose lease was taken over cannot
 * commit (its transaction rolls back), so a job's effect is written once. Transient errors are
 * retried with exponential backoff; permanent ones, or the last attempt, end the job `failed`
 * with the reason, in the same transaction as the handler's failure bookkeeping.
 */

export type Job<P = unknown> = Omit<JobRecord, "payload"> & { payload: P; leaseToken: string };

/**
 * What a handler does once the job's work is done: runs in the transaction that ends the job.
 * It may return a function to call once that transaction has committed (metrics: counted only
 * when the effect is really written).
 */
export type Commit = (tx: MetaStore) => Promise<void | (() => void)>;

export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentError";
  }
}

/** The job cannot run on this worker yet: it goes back to the queue, the attempt not counted. */
export class NotYetError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = "NotYetError";
  }
}

/** The job's lease was taken over (this worker was too slow or partitioned): nothing it did commits. */
export class LeaseLostError extends Error {
  constructor(job: number) {
    super(`job ${job}: lease lost to another worker`);
    this.name = "LeaseLostError";
  }
}

export interface JobHandler<P = unknown> {
  /** Does the work outside any transaction and returns what to write when it succeeds. */
  run(job: Job<P>): Promise<Commit>;
  /** Whether an error may go away on retry (I/O, a database being replaced). */
  isTransient(err: unknown): boolean;
  /** Bookkeeping of a job that failed for good (e.g. the image's FAILED state and event). */
  failed(tx: MetaStore, job: Job<P>, reason: string): Promise<void>;
}

export interface WorkerOptions {
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

export class JobWorker {
  private running = 0;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly pump = new Pump(() => this.fill());
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly kinds: string[];
  private claimErrorLoggedAt = 0;

  constructor(
    private readonly meta: MetaStore,
    private readonly handlers: Record<string, JobHandler<never>>,
    private readonly opts: WorkerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.kinds = Object.keys(handlers);
  }

  /**
   * Starts claiming. `releaseRunning`: every running job belongs to a previous life of this
   * process (only for the embedded server, the one process on its SQLite file), so it is queued
   * again now rather than after its lease.
   */
  async start(releaseRunning: boolean): Promise<void> {
    if (releaseRunning) {
      const n = await this.meta.jobs.releaseRunning();
      if (n) this.opts.log?.warn({ jobs: n }, "jobs interrupted by a restart are queued again");
    }
    this.stopped = false;
    // Jobs queued by another process wake the worker at their commit (storage/meta/signals.ts);
    // the poll finds retries that fall due and makes up for a lost signal.
    this.unsubscribe = this.meta.signals.subscribe("jobs", () => this.wake());
    this.timer = setInterval(() => this.wake(), this.opts.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops claiming jobs and waits for those in flight (their commit included). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Looks for work now (after a job was queued in this process). */
  wake(): void {
    if (!this.stopped) this.pump.wake();
  }

  private async fill(): Promise<void> {
    while (!this.stopped && this.running < this.opts.concurrency) {
      let job: JobRecord | null;
      try {
        job = await this.meta.jobs.claim(this.kinds, this.opts.leaseMs);
      } catch (err) {
        // The database is away (a restart): say so once a minute, not at every poll.
        const now = Date.now();
        if (now - this.claimErrorLoggedAt > 60_000) {
          this.claimErrorLoggedAt = now;
          this.opts.log?.error({ err }, "job queue: cannot claim a job (retrying at every poll)");
        }
        return;
      }
      this.claimErrorLoggedAt = 0;
      if (!job) return;
      this.running++;
      const p = this.execute(job as Job).finally(() => {
        this.running--;
        this.inFlight.delete(p);
        this.wake();
      });
      this.inFlight.add(p);
    }
  }

  private async execute(job: Job): Promise<void> {
    const handler = this.handlers[job.kind] as JobHandler;
    const renew = setInterval(
      () => {
        void this.meta.jobs.renew(job.id, job.leaseToken, this.opts.leaseMs).catch(() => undefined);
      },
      Math.max(10, Math.floor(this.opts.leaseMs / 3)),
    );
    renew.unref();
    try {
      const commit = await handler.run(job);
      const committed = await this.meta.tx(async (tx) => {
        // Completion first: when the lease is no longer ours, the handler's writes roll back with it.
        if (!(await tx.jobs.complete(job.id, job.leaseToken))) throw new LeaseLostError(job.id);
        return commit(tx);
      });
      committed?.();
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.opts.log?.warn({ job: job.id, kind: job.kind }, err.message);
        return;
      }
      await this.fail(handler, job, err).catch((e: unknown) =>
        this.opts.log?.error({ err: e, job: job.id }, "job queue: cannot record a failure"),
      );
    } finally {
      clearInterval(renew);
    }
  }

  private async fail(handler: JobHandler, job: Job, err: unknown): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof NotYetError) {
      this.opts.log?.debug({ job: job.id, kind: job.kind, reason }, "job deferred");
      await this.meta.jobs.defer(job.id, job.leaseToken, this.now() + err.retryAfterMs, reason);
      return;
    }
    if (handler.isTransient(err) && job.attempts < this.opts.maxAttempts) {
      const delay = backoffMs(job.attempts, this.opts.retryBaseMs);
      this.opts.log?.warn(
        { job: job.id, kind: job.kind, attempt: job.attempts, delay, reason },
        "job failed; retrying",
      );
      await this.meta.jobs.retry(job.id, job.leaseToken, this.now() + delay, reason);
      return;
    }
    this.opts.log?.warn({ job: job.id, kind: job.kind, attempts: job.attempts, reason }, "job failed");
    await this.meta.tx(async (tx) => {
      if (!(await tx.jobs.fail(job.id, job.leaseToken, reason))) throw new LeaseLostError(job.id);
      await handler.failed(tx, job, reason);
    });
  }

  /** Jobs of this worker's kinds waiting or running (metrics, benchmarks). */
  depth(): Promise<{ queued: number; running: number }> {
    return this.meta.jobs.depth(this.kinds);
  }
}
