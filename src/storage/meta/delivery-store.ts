import type { Handle } from "./handle.js";

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
  afterId?: number;
  limit: number;
}

export class DeliveryStore {
  constructor(private readonly h: Handle) {}

  enqueue(_d: readonly NewDelivery[]): Promise<void> {
    return notYet(this.h);
  }
  claim(_limit: number, _leaseMs: number): Promise<StoredDelivery[]> {
    return notYet(this.h);
  }
  /** Deletes delivered ones. */
  complete(_ids: readonly number[], _token: string): Promise<number[]> {
    return notYet(this.h);
  }
  /** Releases the lease and sets the next attempt's time. */
  reschedule(
    _u: readonly { id: number; runAfter: number; error: string | null }[],
    _token: string,
  ): Promise<number[]> {
    return notYet(this.h);
  }
  /** Deletes the deliveries and inserts their dead letters (same order), when the token holds. */
  deadLetter(_u: readonly { id: number; letter: NewDeadLetter }[], _token: string): Promise<number[]> {
    return notYet(this.h);
  }
  /** Pending deliveries (all, or of one rule/target): the pending gauge. */
  pending(_q?: { bus?: string; rule?: string; targetId?: string }): Promise<number> {
    return notYet(this.h);
  }
  /** Drops pending deliveries of a removed target or rule. */
  dropFor(_bus: string, _rule: string, _targetId?: string): Promise<number> {
    return notYet(this.h);
  }
  deadLetters(_q: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    return notYet(this.h);
  }
  countDeadLetters(_q?: Omit<DeadLetterQuery, "limit" | "afterId">): Promise<number> {
    return notYet(this.h);
  }
  /**
   * Moves the selected dead letters back to deliveries (with their eventJson, due now), deletes
   * them, and returns how many moved.
   */
  redrive(_q: Omit<DeadLetterQuery, "limit" | "afterId">): Promise<number> {
    return notYet(this.h);
  }
}

function notYet(_h: Handle): never {
  throw new Error("DeliveryStore: not implemented yet");
}
