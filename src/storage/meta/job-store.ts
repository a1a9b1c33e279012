import { randomUUID } from "node:crypto";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/** A job as a worker sees it once claimed: its lease token fences every later write. */
export interface JobRecord {
  id: number;
  kind: string;
  key: string | null;
  payload: unknown;
  state: "queued" | "running" | "failed";
  /** Attempts so far, this one included once claimed. */
  attempts: number;
  runAfter: number;
  leaseUntil: number | null;
  leaseToken: string | null;
  lastError: string | null;
}

export interface NewJob {
  kind: string;
  /** What the job is about (e.g. `12@sha256:…`), so that pending work can be found and dropped. */
  key?: string;
  payload: unknown;
  runAfter?: number;
}

/**
 * The durable job queue (table jobs), on SQLite and PostgreSQL alike.
 *
 * Contract:
 * - `enqueue` writes in the caller's transaction: a job exists iff the change that causes it
 *   committed.
 * - `claim` takes the oldest due job of the given kinds (queued and due, or running with an
 *   expired lease: its worker died) and leases it with a fresh token, atomically: two workers,
 *   in one process or many, never hold the same job (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
 *   claimers do not wait on each other; SQLite: one statement under its single writer lock).
 * - `renew`, `complete`, `retry` and `fail` succeed only while the token is still the job's
 *   (false otherwise): a worker whose lease ran out and was taken over cannot commit, so the
 *   job's effect is written once, by the holder that completes it in the same transaction.
 */
export class JobStore {
  constructor(private readonly h: Handle) {}

  async enqueue(j: NewJob): Promise<number> {
    const now = this.h.now();
    const row = await this.h.db
      .insertInto("jobs")
      .values({
        kind: j.kind,
        key: j.key ?? null,
        payload: JSON.stringify(j.payload),
        state: "queued",
        attempts: 0,
        run_after: j.runAfter ?? now,
        lease_until: null,
        lease_token: null,
        last_error: null,
        created_at: now,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    // Workers of other processes hear of it at commit (signals.ts).
    await this.h.signal("jobs");
    return Number(row.id);
  }

  async claim(kinds: readonly string[], leaseMs: number): Promise<JobRecord | null> {
    if (!kinds.length) return null;
    const now = this.h.now();
    const token = randomUUID();
    const row = await this.h.db
      .updateTable("jobs")
      .set((eb) => ({
        state: "running",
        attempts: eb("attempts", "+", 1),
        lease_until: now + leaseMs,
        lease_token: token,
        updated_at: now,
      }))
      .where("id", "=", (eb) => {
        let q = eb
          .selectFrom("jobs")
          .select("id")
          .where("kind", "in", [...kinds])
          .where((w) =>
            w.or([
              w.and([w("state", "=", "queued"), w("run_after", "<=", now)]),
              w.and([w("state", "=", "running"), w("lease_until", "<", now)]),
            ]),
          )
          .orderBy("run_after")
          .orderBy("id")
          .limit(1);
        if (this.h.dialect === "postgres") q = q.forUpdate().skipLocked();
        return q;
      })
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  private fenced(id: number, token: string) {
    return this.h.db
      .updateTable("jobs")
      .where("id", "=", id)
      .where("lease_token", "=", token)
      .where("state", "=", "running");
  }

  async renew(id: number, token: string, leaseMs: number): Promise<boolean> {
    const now = this.h.now();
    const r = await this.fenced(id, token)
      .set({ lease_until: now + leaseMs, updated_at: now })
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Removes a finished job; call in the transaction that writes its result. */
  async complete(id: number, token: string): Promise<boolean> {
    const r = await this.h.db
      .deleteFrom("jobs")
      .where("id", "=", id)
      .where("lease_token", "=", token)
      .where("state", "=", "running")
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** Queues the job again after `runAfter` (a transient failure). */
  async retry(id: number, token: string, runAfter: number, error: string): Promise<boolean> {
    const r = await this.fenced(id, token)
      .set({
        state: "queued",
        lease_until: null,
        lease_token: null,
        run_after: runAfter,
        last_error: error,
        updated_at: this.h.now(),
      })
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Puts a running job back for later without counting the attempt (it could not start yet,
   * e.g. its worker's database is older than the job needs).
   */
  async defer(id: number, token: string, runAfter: number, reason: string): Promise<boolean> {
    const r = await this.fenced(id, token)
      .set((eb) => ({
        state: "queued",
        attempts: eb("attempts", "-", 1),
        lease_until: null,
        lease_token: null,
        run_after: runAfter,
        last_error: reason,
        updated_at: this.h.now(),
      }))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Ends the job in `failed` with its reason (kept for inspection). */
  async fail(id: number, token: string, error: string): Promise<boolean> {
    const r = await this.fenced(id, token)
      .set({ state: "failed", lease_until: null, last_error: error, updated_at: this.h.now() })
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Drops the queued (not running) jobs of a kind about `key`; returns how many. */
  async dropQueued(kind: string, key: string): Promise<number> {
    const r = await this.h.db
      .deleteFrom("jobs")
      .where("kind", "=", kind)
      .where("key", "=", key)
      .where("state", "=", "queued")
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * Queues every running job again now. Only for a store that one process uses (the embedded
   * SQLite server at start-up: whatever ran belonged to its previous life); a cluster waits for
   * the leases to run out instead.
   */
  async releaseRunning(): Promise<number> {
    const now = this.h.now();
    const r = await this.h.db
      .updateTable("jobs")
      .set({ state: "queued", lease_until: null, lease_token: null, run_after: now, updated_at: now })
      .where("state", "=", "running")
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async get(id: number): Promise<JobRecord | null> {
    const row = await this.h.db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** Jobs of the given kinds that are not finished, oldest first (for tests and inspection). */
  async list(kinds: readonly string[], limit = 1000): Promise<JobRecord[]> {
    const rows = await this.h.db
      .selectFrom("jobs")
      .selectAll()
      .where("kind", "in", [...kinds])
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  /** Jobs waiting or running (metrics, benchmarks). */
  async depth(kinds: readonly string[]): Promise<{ queued: number; running: number }> {
    const rows = await this.h.db
      .selectFrom("jobs")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
      .where("kind", "in", [...kinds])
      .where("state", "in", ["queued", "running"])
      .groupBy("state")
      .execute();
    const get = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
    return { queued: get("queued"), running: get("running") };
  }
}

type JobRow = Omit<Database["jobs"], "id"> & { id: number };

function toJob(r: JobRow): JobRecord {
  return {
    id: Number(r.id),
    kind: r.kind,
    key: r.key,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state,
    attempts: Number(r.attempts),
    runAfter: Number(r.run_after),
    leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
    leaseToken: r.lease_token,
    lastError: r.last_error,
  };
}
