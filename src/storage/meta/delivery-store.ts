import { randomUUID } from "node:crypto";
import { sql, type Selectable, type SelectQueryBuilder } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/**
 * Pending event deliveries and the dead-letter stores (tables event_deliveries and
 * event_dead_letters, schema.ts): the durable half of src/events/delivery.
 *
 * Contract:
 * - `enqueue` writes in the caller's transaction: the routing step appends an event and its
 *   deliveries in one transaction, so a delivery exists iff its event committed.
 * - `claim` leases up to `limit` due deliveries (runAfter <= now and no live lease) with one
 *   fresh token, atomically: two processes never hold the same delivery (PostgreSQL:
 *   `FOR UPDATE SKIP LOCKED`; SQLite: one statement under its writer lock). A lease that ran
 *   out (its process died) makes the delivery claimable again; `attempts` counts claims.
 * - `complete`, `reschedule` and `deadLetter` act only while the token is still the
 *   delivery's, and return the ids they acted on: a process whose lease was taken over cannot
 *   finish a delivery twice.
 * - `deadLetter` moves deliveries to the dead-letter store in one transaction.
 * - `redrive` moves dead letters back to deliveries (due now, attempts 0) in one transaction.
 * - `enqueue` and `redrive` raise the `deliveries` signal (signals.ts): the other processes'
 *   idle workers hear of the new deliveries at commit instead of by polling.
 */

export interface NewDelivery {
  bus: string;
  rule: string;
  targetId: string;
  /** The event's position in event_log. */
  eventSeq: number;
  /** The event's envelope when it differs from the logged one (a replayed event), else null. */
  eventJson: string | null;
  /** The event's time (epoch ms): MaximumEventAgeInSeconds counts from here. */
  eventTime: number;
  runAfter?: number;
}

export interface StoredDelivery extends Required<NewDelivery> {
  id: number;
  attempts: number;
  leaseUntil: number | null;
  leaseToken: string | null;
  lastError: string | null;
  createdAt: number;
}

export interface NewDeadLetter {
  /** The dead-letter store's name (the DeadLetterConfig ARN's last part, or `default`). */
  queue: string;
  bus: string;
  rule: string;
  targetId: string;
  targetArn: string;
  eventSeq: number;
  /** The event envelope as it was to be delivered. */
  eventJson: string;
  eventTime: number;
  attempts: number;
  /** e.g. `SDK_CLIENT_ERROR`, `RETRIES_EXHAUSTED`, `MAXIMUM_EVENT_AGE_EXCEEDED` (AWS's DLQ codes). */
  errorCode: string;
  errorMessage: string;
}

export interface StoredDeadLetter extends NewDeadLetter {
  id: number;
  deadAt: number;
}

export interface DeadLetterQuery {
  queue?: string;
  bus?: string;
  rule?: string;
  targetId?: string;
  /** deadAt >= since (epoch ms). */
  since?: number;
  /** Only these letters (the console redrives one letter, or a page it shows). */
  ids?: readonly number[];
  afterId?: number;
  limit: number;
  /** Rows skipped first (the console's numbered pages); with `newestFirst`, from the newest. */
  offset?: number;
  /** Newest first (the console shows the latest failures first); default oldest first. */
  newestFirst?: boolean;
}

/** Which pending deliveries a listing shows (all when empty). */
export interface DeliveryQuery {
  bus?: string;
  rule?: string;
  targetId?: string;
  limit: number;
  offset?: number;
}

export class DeliveryStore {
  constructor(private readonly h: Handle) {}

  /** Inserts in batches, in the caller's transaction (or one of its own). */
  async enqueue(d: readonly NewDelivery[]): Promise<void> {
    if (!d.length) return;
    await this.h.tx(async (t) => {
      const now = t.now();
      for (let i = 0; i < d.length; i += INSERT_BATCH)
        await t.db
          .insertInto("event_deliveries")
          .values(
            d.slice(i, i + INSERT_BATCH).map((x) => ({
              bus: x.bus,
              rule: x.rule,
              target_id: x.targetId,
              event_seq: x.eventSeq,
              event_json: x.eventJson,
              event_time: x.eventTime,
              run_after: x.runAfter ?? now,
              attempts: 0,
              lease_until: null,
              lease_token: null,
              last_error: null,
              created_at: now,
            })),
          )
          .execute();
      await t.signal("deliveries");
    });
  }

  /**
   * When the next delivery falls due (epoch ms; at or before now: one is due), or null when
   * there is none: a lease's end counts, since a claim moves `run_after` to it. One read of the
   * first entry of the index (run_after, id); an idle worker sleeps until then.
   */
  async nextDue(): Promise<number | null> {
    const row = await this.h.db
      .selectFrom("event_deliveries")
      .select("run_after")
      .orderBy("run_after")
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    return row ? Number(row.run_after) : null;
  }

  /**
   * Leases up to `limit` due deliveries, oldest due first, in one statement. The claim moves
   * `runAfter` to the lease's end (= `leaseUntil`): `run_after <= now` then finds exactly the
   * due and the lease-expired rows, from the start of the index (run_after, id), however many
   * are leased. Returned in id order.
   */
  async claim(limit: number, leaseMs: number): Promise<StoredDelivery[]> {
    if (limit <= 0) return [];
    const now = this.h.now();
    const until = now + leaseMs;
    const token = randomUUID();
    const rows = await this.h.db
      .updateTable("event_deliveries")
      .set((eb) => ({
        attempts: eb("attempts", "+", 1),
        lease_token: token,
        lease_until: until,
        run_after: until,
      }))
      .where("id", "in", (eb) => {
        let q = eb
          .selectFrom("event_deliveries")
          .select("id")
          .where("run_after", "<=", now)
          .orderBy("run_after")
          .orderBy("id")
          .limit(limit);
        if (this.h.dialect === "postgres") q = q.forUpdate().skipLocked();
        return q;
      })
      .returningAll()
      .execute();
    return rows.map(toDelivery).sort((a, b) => a.id - b.id);
  }

  /**
   * Makes every leased delivery due now: only for the embedded server at start, the one process
   * on its database, whose leases all belong to a previous life of it (a crash mid-send), so
   * their deliveries go out at once instead of after the lease. Returns how many.
   */
  async releaseLeases(): Promise<number> {
    const r = await this.h.db
      .updateTable("event_deliveries")
      .set({ lease_token: null, lease_until: null, run_after: this.h.now() })
      .where("lease_token", "is not", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Deletes delivered ones (while the token holds); returns their ids. */
  async complete(ids: readonly number[], token: string): Promise<number[]> {
    const done: number[] = [];
    for (let i = 0; i < ids.length; i += ID_BATCH) {
      const rows = await this.h.db
        .deleteFrom("event_deliveries")
        .where("id", "in", ids.slice(i, i + ID_BATCH))
        .where("lease_token", "=", token)
        .returning("id")
        .execute();
      done.push(...rows.map((r) => Number(r.id)));
    }
    return done;
  }

  /** Releases the lease and sets the next attempt's time (while the token holds); returns the ids. */
  async reschedule(
    u: readonly { id: number; runAfter: number; error: string | null }[],
    token: string,
  ): Promise<number[]> {
    const done: number[] = [];
    for (let i = 0; i < u.length; i += ID_BATCH) {
      // One statement for the batch: each row's own time and error joined in from a VALUES list
      // (typed by casts: PostgreSQL cannot infer a bare parameter's type there).
      const values = sql.join(
        u
          .slice(i, i + ID_BATCH)
          .map(
            (x) => sql`(cast(${x.id} as bigint), cast(${x.runAfter} as bigint), cast(${x.error} as text))`,
          ),
      );
      const r = await sql<{ id: number }>`with v(id, run_after, err) as (values ${values})
        update event_deliveries
        set run_after = v.run_after, last_error = v.err, lease_token = null, lease_until = null
        from v
        where event_deliveries.id = v.id and event_deliveries.lease_token = ${token}
        returning event_deliveries.id`.execute(this.h.db);
      done.push(...r.rows.map((row) => Number(row.id)));
    }
    return done;
  }

  /**
   * Deletes the deliveries and inserts their dead letters (same order), when the token holds,
   * in one transaction; returns the ids moved.
   */
  async deadLetter(u: readonly { id: number; letter: NewDeadLetter }[], token: string): Promise<number[]> {
    if (!u.length) return [];
    return this.h.tx(async (t) => {
      const now = t.now();
      const gone = new Set<number>();
      for (let i = 0; i < u.length; i += ID_BATCH) {
        const rows = await t.db
          .deleteFrom("event_deliveries")
          .where(
            "id",
            "in",
            u.slice(i, i + ID_BATCH).map((x) => x.id),
          )
          .where("lease_token", "=", token)
          .returning("id")
          .execute();
        for (const r of rows) gone.add(Number(r.id));
      }
      const moved = u.filter((x) => gone.has(x.id));
      for (let i = 0; i < moved.length; i += INSERT_BATCH)
        await t.db
          .insertInto("event_dead_letters")
          .values(moved.slice(i, i + INSERT_BATCH).map((x) => letterRow(x.letter, now)))
          .execute();
      return moved.map((x) => x.id);
    });
  }

  /** Pending deliveries (all, or of one bus/rule/target), leased ones included: the pending gauge. */
  async pending(q: { bus?: string; rule?: string; targetId?: string } = {}): Promise<number> {
    let s = this.h.db.selectFrom("event_deliveries").select((eb) => eb.fn.countAll<number>().as("n"));
    if (q.bus !== undefined) s = s.where("bus", "=", q.bus);
    if (q.rule !== undefined) s = s.where("rule", "=", q.rule);
    if (q.targetId !== undefined) s = s.where("target_id", "=", q.targetId);
    const r = await s.executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Drops pending deliveries of a removed target or rule (leased ones too: their completion then does nothing). */
  async dropFor(bus: string, rule: string, targetId?: string): Promise<number> {
    let q = this.h.db.deleteFrom("event_deliveries").where("bus", "=", bus).where("rule", "=", rule);
    if (targetId !== undefined) q = q.where("target_id", "=", targetId);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * Pending deliveries (due, waiting for a retry, or leased: being sent) in id order (oldest
   * first), of one bus/rule/target or all: what the console lists with their attempts and last
   * error. Delivered ones are gone (complete deletes them).
   */
  async list(q: DeliveryQuery): Promise<StoredDelivery[]> {
    let s = this.h.db.selectFrom("event_deliveries").selectAll();
    if (q.bus !== undefined) s = s.where("bus", "=", q.bus);
    if (q.rule !== undefined) s = s.where("rule", "=", q.rule);
    if (q.targetId !== undefined) s = s.where("target_id", "=", q.targetId);
    s = s.orderBy("id").limit(q.limit);
    if (q.offset) s = s.offset(q.offset);
    return (await s.execute()).map(toDelivery);
  }

  /** Dead letters in id order (oldest first, or newest first) after `afterId`. */
  async deadLetters(q: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    let s = narrowLetters(this.h.db.selectFrom("event_dead_letters").selectAll(), q);
    if (q.afterId !== undefined)
      s = q.newestFirst ? s.where("id", "<", q.afterId) : s.where("id", ">", q.afterId);
    s = s.orderBy("id", q.newestFirst ? "desc" : "asc").limit(q.limit);
    if (q.offset) s = s.offset(q.offset);
    return (await s.execute()).map(toLetter);
  }

  async countDeadLetters(q: LetterFilter = {}): Promise<number> {
    const r = await narrowLetters(
      this.h.db.selectFrom("event_dead_letters").select((eb) => eb.fn.countAll<number>().as("n")),
      q,
    ).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /**
   * Moves the selected dead letters back to deliveries (with their eventJson, due now, attempts
   * 0), deletes them, and returns how many moved. Batches of letters are deleted with RETURNING
   * and exactly those are inserted, so a letter written meanwhile (another node) is either moved
   * whole or left, never deleted unmoved.
   */
  async redrive(q: LetterFilter): Promise<number> {
    return this.h.tx(async (t) => {
      const now = t.now();
      let moved = 0;
      let after = 0;
      for (;;) {
        const rows = await t.db
          .deleteFrom("event_dead_letters")
          .where("id", "in", (eb) =>
            narrowLetters(eb.selectFrom("event_dead_letters").select("id"), q)
              .where("id", ">", after)
              .orderBy("id")
              .limit(INSERT_BATCH),
          )
          .returningAll()
          .execute();
        if (!rows.length) {
          if (moved) await t.signal("deliveries");
          return moved;
        }
        rows.sort((a, b) => Number(a.id) - Number(b.id));
        after = Number(rows.at(-1)!.id);
        await t.db
          .insertInto("event_deliveries")
          .values(
            rows.map((r) => ({
              bus: r.bus,
              rule: r.rule,
              target_id: r.target_id,
              event_seq: r.event_seq,
              event_json: r.event_json,
              event_time: r.event_time,
              run_after: now,
              attempts: 0,
              lease_until: null,
              lease_token: null,
              last_error: null,
              created_at: now,
            })),
          )
          .execute();
        moved += rows.length;
      }
    });
  }
}

/** Rows per multi-row insert: 13 parameters a row stays under SQLite's 32,766 per statement. */
const INSERT_BATCH = 1000;
/** Ids (or VALUES rows of 3) per statement. */
const ID_BATCH = 1000;

type LetterFilter = Omit<DeadLetterQuery, "limit" | "afterId" | "offset" | "newestFirst">;

function narrowLetters<Q extends SelectQueryBuilder<Database, "event_dead_letters", object>>(
  s: Q,
  q: LetterFilter,
): Q {
  let out = s as SelectQueryBuilder<Database, "event_dead_letters", object>;
  if (q.queue !== undefined) out = out.where("queue", "=", q.queue);
  if (q.bus !== undefined) out = out.where("bus", "=", q.bus);
  if (q.rule !== undefined) out = out.where("rule", "=", q.rule);
  if (q.targetId !== undefined) out = out.where("target_id", "=", q.targetId);
  if (q.since !== undefined) out = out.where("dead_at", ">=", q.since);
  // An empty id list selects nothing (never "all": a redrive of no letters moves none).
  if (q.ids !== undefined)
    out = q.ids.length ? out.where("id", "in", [...q.ids]) : out.where(sql<boolean>`1 = 0`);
  return out as Q;
}

function letterRow(l: NewDeadLetter, now: number) {
  return {
    queue: l.queue,
    bus: l.bus,
    rule: l.rule,
    target_id: l.targetId,
    target_arn: l.targetArn,
    event_seq: l.eventSeq,
    event_json: l.eventJson,
    event_time: l.eventTime,
    attempts: l.attempts,
    error_code: l.errorCode,
    error_message: l.errorMessage,
    dead_at: now,
  };
}

function toDelivery(r: Selectable<Database["event_deliveries"]>): StoredDelivery {
  return {
    id: Number(r.id),
    bus: r.bus,
    rule: r.rule,
    targetId: r.target_id,
    eventSeq: Number(r.event_seq),
    eventJson: r.event_json,
    eventTime: Number(r.event_time),
    runAfter: Number(r.run_after),
    attempts: Number(r.attempts),
    leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
    leaseToken: r.lease_token,
    lastError: r.last_error,
    createdAt: Number(r.created_at),
  };
}

function toLetter(r: Selectable<Database["event_dead_letters"]>): StoredDeadLetter {
  return {
    id: Number(r.id),
    queue: r.queue,
    bus: r.bus,
    rule: r.rule,
    targetId: r.target_id,
    targetArn: r.target_arn,
    eventSeq: Number(r.event_seq),
    eventJson: r.event_json,
    eventTime: Number(r.event_time),
    attempts: Number(r.attempts),
    errorCode: r.error_code,
    errorMessage: r.error_message,
    deadAt: Number(r.dead_at),
  };
}
