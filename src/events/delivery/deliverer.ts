import type { Config } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";
import { Pump } from "../../jobs/pump.js";
import type { MetaStore, NewDeadLetter, StoredDelivery } from "../../storage/meta/store.js";
import type { EventEnvelope } from "../envelope.js";
import { isoSeconds } from "../envelope.js";
import { renderTargetInput } from "../input/index.js";
import { appendEvents, onDeliveriesQueued } from "../log.js";
import { routingTable, type RoutedTarget, type RoutingTable } from "../router.js";
import { parseDeadLetterArn, parseTargetArn } from "../targets/arn.js";
import { createTarget, OAuthTokenCache, TargetUnavailableError } from "../targets/index.js";
import type { SendResult } from "../targets/types.js";
import { retryDelayMs, retryPolicyOf } from "./policy.js";
import { RateLimiter } from "./rate-limit.js";

/**
 * The delivery worker: claims due deliveries (src/storage/meta/delivery-store.ts), sends each to
 * its target once, and records the outcome: delivered (the row is deleted), retried later (the
 * target's RetryPolicy, the backoff of ./policy.ts, the receiver's Retry-After), or moved to a
 * dead-letter store when it gives up. Every process with background work runs one; claims are
 * leased, so a crashed process's deliveries are sent by another after the lease (at least once:
 * a delivery sent but not yet recorded when a process dies is sent again). Outcomes are
 * recorded in batches, one transaction per batch, which is what makes thousands per second
 * durable on SQLite.
 */

export interface DeliveryMetrics {
  outcome(kind: DeliveryOutcome, n: number): void;
  /** From the delivery's enqueueing (its event's commit) to the receiver's acceptance. */
  latency(ms: number): void;
}

export type DeliveryOutcome = "delivered" | "retried" | "dead_lettered" | "dropped";

export interface DelivererOptions {
  events: Config["events"];
  aws: { region: string; accountId: string };
  userAgent: string;
  log: Logger;
  metrics?: DeliveryMetrics;
  now?: () => number;
  random?: () => number;
}

interface LoadedEvent {
  event: EventEnvelope;
  json: string;
}

type Outcome =
  | { kind: "complete"; d: StoredDelivery; token: string; latencyMs?: number; dropped?: boolean }
  | { kind: "retry"; d: StoredDelivery; token: string; runAfter: number; error: string }
  | { kind: "dead"; d: StoredDelivery; token: string; letter: NewDeadLetter };

export class Deliverer {
  private stopped = true;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Wakes the worker when the next delivery falls due (a retry's backoff, a lease's end). */
  private dueTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly pump = new Pump(() => this.fill());
  private outcomes: Outcome[] = [];
  private flushing: Promise<void> | undefined;
  private readonly rate: RateLimiter;
  private readonly oauth = new OAuthTokenCache();
  private readonly now: () => number;
  private readonly idle = new Set<() => void>();
  private claimErrorLoggedAt = 0;
  /** Aborts the sends in flight when a stop's grace period is over. */
  private readonly abort = new AbortController();

  constructor(
    private readonly meta: MetaStore,
    private readonly o: DelivererOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.rate = new RateLimiter(this.now);
  }

  /**
   * Starts claiming. `releaseLeases`: every leased delivery belongs to a previous life of this
   * process (only for the embedded server, the one process on its SQLite file), so it is sent
   * again now rather than after its lease.
   */
  async start(releaseLeases = false): Promise<void> {
    if (releaseLeases) {
      const n = await this.meta.deliveries.releaseLeases();
      if (n) this.o.log.info({ deliveries: n }, "event deliveries interrupted by a restart are due again");
    }
    this.stopped = false;
    // Deliveries queued here wake the worker in-process; those of other processes by their
    // commit's signal (storage/meta/signals.ts); the interval is the fallback for a lost one.
    onDeliveriesQueued(this.meta, () => this.wake());
    this.unsubscribe = this.meta.signals.subscribe("deliveries", () => this.wake());
    this.timer = setInterval(() => this.wake(), this.o.events.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  /**
   * Stops claiming, waits for the deliveries in flight (at most `graceMs`, then their sends are
   * aborted: failed attempts, retried later) and records their outcomes.
   */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.unsubscribe?.();
    const grace = setTimeout(() => this.abort.abort(), graceMs);
    while (this.inFlight > 0) await new Promise<void>((r) => this.idle.add(r));
    clearTimeout(grace);
    await this.flush();
  }

  wake(): void {
    if (!this.stopped) this.pump.wake();
  }

  private async fill(): Promise<void> {
    const max = this.o.events.concurrency;
    while (!this.stopped && this.inFlight < max) {
      let claimed: StoredDelivery[];
      let table: RoutingTable;
      let events: Map<number, LoadedEvent>;
      try {
        claimed = await this.meta.deliveries.claim(max - this.inFlight, this.o.events.leaseSeconds * 1000);
        if (!claimed.length) {
          if (this.inFlight === 0) await this.sleepUntilDue();
          return;
        }
        table = await routingTable(this.meta);
        events = await this.loadEvents(claimed);
      } catch (err) {
        if (this.now() - this.claimErrorLoggedAt > 60_000) {
          this.claimErrorLoggedAt = this.now();
          this.o.log.warn({ err }, "cannot claim event deliveries (retrying)");
        }
        return;
      }
      const lookups = new Map<string, Promise<unknown>>();
      for (const d of claimed) {
        this.inFlight++;
        void this.deliver(d, table, events, lookups)
          .catch((err: unknown) => {
            // A bug, not a receiver's failure: the lease expires and another attempt follows.
            this.o.log.error({ err, rule: d.rule, target: d.targetId }, "event delivery failed unexpectedly");
          })
          .finally(() => {
            this.inFlight--;
            if (this.inFlight === 0) for (const r of this.idle) r();
            this.idle.clear();
            // Refill in batches (a claim per finished delivery would be a transaction each).
            if (this.inFlight <= max / 2) this.wake();
          });
      }
    }
  }

  /**
   * Nothing is due and nothing in flight: sets the timer for the next delivery's due time (a
   * retry written here or elsewhere, a dead process's lease), when it comes before the
   * fallback poll. A row already due fell due after the empty claim (a claim moves what it
   * leases to its lease's end, so no row another process holds is due): it is claimed on the
   * next tick, not up to `pollIntervalMs` later at the poll.
   */
  private async sleepUntilDue(): Promise<void> {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    const next = await this.meta.deliveries.nextDue();
    const wait = next === null ? Infinity : Math.max(0, next - this.now());
    if (this.stopped || wait >= this.o.events.pollIntervalMs) return;
    this.dueTimer = setTimeout(() => this.wake(), wait + 1);
    this.dueTimer.unref();
  }

  /** The logged events of a batch, parsed once, with their JSON (the body when no input is set). */
  private async loadEvents(claimed: readonly StoredDelivery[]): Promise<Map<number, LoadedEvent>> {
    const seqs = [...new Set(claimed.filter((d) => d.eventJson === null).map((d) => d.eventSeq))];
    const out = new Map<number, LoadedEvent>();
    if (!seqs.length) return out;
    for (const e of await this.meta.events.bySeqs(seqs))
      out.set(e.seq, { event: JSON.parse(e.json) as EventEnvelope, json: e.json });
    return out;
  }

  private async deliver(
    d: StoredDelivery,
    table: RoutingTable,
    events: Map<number, LoadedEvent>,
    lookups: Map<string, Promise<unknown>>,
  ): Promise<void> {
    const token = d.leaseToken!;
    const routed = table.target(d.bus, d.rule, d.targetId);
    const loaded: LoadedEvent | undefined =
      d.eventJson !== null
        ? { event: JSON.parse(d.eventJson) as EventEnvelope, json: d.eventJson }
        : events.get(d.eventSeq);
    const event = loaded?.event;
    // The target or rule was removed after the event was routed (RemoveTargets also drops
    // pending deliveries; this covers the race), or the event is gone: nothing to deliver.
    if (!routed || !event) return this.record({ kind: "complete", d, token, dropped: true });
    const policy = retryPolicyOf(routed.target.target);
    const arn = parseTargetArn(routed.target.arn);
    if (!arn)
      return this.giveUp(
        d,
        token,
        routed,
        event,
        "INVALID_TARGET",
        `unsupported target ${routed.target.arn}`,
      );
    if (arn.kind === "event-bus") return this.forward(d, token, event, arn.name);
    const ruleArn = this.ruleArn(d.bus, d.rule);
    let body: string;
    const t = routed.target.target;
    try {
      body =
        t.Input === undefined && t.InputPath === undefined && t.InputTransformer === undefined
          ? loaded!.json
          : renderTargetInput(routed.target.target, event, {
              ruleArn,
              ruleName: d.rule,
              ingestionTime: isoSeconds(d.eventTime),
            });
    } catch (err) {
      return this.giveUp(
        d,
        token,
        routed,
        event,
        "INVALID_INPUT",
        `cannot build the target input: ${(err as Error).message}`,
      );
    }
    let result: SendResult;
    try {
      const target = await createTarget(arn, routed.target.target, {
        apiDestination: (name) =>
          memo(lookups, `dest:${name}`, async () => {
            const dest = await this.meta.bus.getApiDestination(name);
            const conn = dest && (await this.meta.bus.getConnection(dest.connectionName));
            return dest && conn ? { dest, conn } : undefined;
          }),
        commands: this.o.events.commands,
        timeoutMs: this.o.events.httpTimeoutSeconds * 1000,
        userAgent: this.o.userAgent,
        oauth: this.oauth,
      });
      if (arn.kind === "api-destination") await this.throttle(arn.name, lookups);
      result = await target.send(
        { body, event, deliveryId: deliveryId(d), attempt: d.attempts },
        this.abort.signal,
      );
    } catch (err) {
      if (err instanceof TargetUnavailableError)
        return this.giveUp(d, token, routed, event, err.code, err.message);
      throw err;
    }
    if (result.ok) return this.record({ kind: "complete", d, token, latencyMs: this.now() - d.createdAt });
    const error = `${result.code}: ${result.message}`;
    const retries = d.attempts; // this attempt was retry number d.attempts - 1; the next is d.attempts
    if (!result.retryable) return this.giveUp(d, token, routed, event, result.code, result.message);
    if (retries > policy.maximumRetryAttempts)
      return this.giveUp(
        d,
        token,
        routed,
        event,
        result.code,
        `retries exhausted after ${d.attempts} attempts: ${result.message}`,
      );
    const cap = this.o.events.maxBackoffSeconds * 1000;
    const delay =
      result.retryAfterMs !== undefined
        ? Math.min(cap, Math.max(0, result.retryAfterMs))
        : retryDelayMs(retries, this.o.events.retryBaseMs, cap, this.o.random);
    const runAfter = this.now() + delay;
    if (runAfter - d.eventTime > policy.maximumEventAgeMs)
      return this.giveUp(
        d,
        token,
        routed,
        event,
        result.code,
        `maximum event age exceeded after ${d.attempts} attempts: ${result.message}`,
      );
    return this.record({ kind: "retry", d, token, runAfter, error });
  }

  /** An event-bus target: the event goes on that bus in one transaction with the completion. */
  private async forward(d: StoredDelivery, token: string, event: EventEnvelope, bus: string): Promise<void> {
    await this.meta.tx(async (tx) => {
      const done = await tx.deliveries.complete([d.id], token);
      if (done.length) await appendEvents(tx, [event], bus, { forwarded: true });
    });
    this.o.metrics?.outcome("delivered", 1);
  }

  private giveUp(
    d: StoredDelivery,
    token: string,
    routed: RoutedTarget,
    event: EventEnvelope,
    errorCode: string,
    errorMessage: string,
  ): Promise<void> {
    const dlq = (routed.target.target.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn;
    const queue = (typeof dlq === "string" && parseDeadLetterArn(dlq)) || "default";
    this.o.log.warn(
      { rule: d.rule, bus: d.bus, target: d.targetId, queue, attempts: d.attempts, errorCode },
      "event delivery dead-lettered",
    );
    return this.record({
      kind: "dead",
      d,
      token,
      letter: {
        queue,
        bus: d.bus,
        rule: d.rule,
        targetId: d.targetId,
        targetArn: routed.target.arn,
        eventSeq: d.eventSeq,
        eventJson: d.eventJson ?? JSON.stringify(event),
        eventTime: d.eventTime,
        attempts: d.attempts,
        errorCode,
        errorMessage,
      },
    });
  }

  private async throttle(destination: string, lookups: Map<string, Promise<unknown>>): Promise<void> {
    const found = (await lookups.get(`dest:${destination}`)) as
      { dest: { invocationRateLimitPerSecond: number } } | undefined;
    const perSecond = found?.dest.invocationRateLimitPerSecond ?? 300;
    for (;;) {
      const wait = this.rate.take(destination, perSecond);
      if (wait === 0) return;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Queues an outcome; outcomes are written in batches (one transaction per flush). */
  private record(o: Outcome): Promise<void> {
    this.outcomes.push(o);
    if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
    return this.flushing;
  }

  private async flush(): Promise<void> {
    const batch = this.outcomes;
    this.outcomes = [];
    this.flushing = undefined;
    if (!batch.length) return;
    const byToken = new Map<string, Outcome[]>();
    for (const o of batch) {
      const list = byToken.get(o.token);
      if (list) list.push(o);
      else byToken.set(o.token, [o]);
    }
    try {
      await this.meta.tx(async (tx) => {
        for (const [token, os] of byToken) {
          const done = os.filter((o) => o.kind === "complete");
          const retry = os.filter((o) => o.kind === "retry");
          const dead = os.filter((o) => o.kind === "dead");
          if (done.length)
            await tx.deliveries.complete(
              done.map((o) => o.d.id),
              token,
            );
          if (retry.length)
            await tx.deliveries.reschedule(
              retry.map((o) => ({ id: o.d.id, runAfter: o.runAfter, error: o.error })),
              token,
            );
          if (dead.length)
            await tx.deliveries.deadLetter(
              dead.map((o) => ({ id: o.d.id, letter: o.letter })),
              token,
            );
        }
      });
    } catch (err) {
      // Not recorded: the leases run out and the deliveries are attempted again (at least once).
      this.o.log.warn({ err, outcomes: batch.length }, "cannot record event delivery outcomes");
      return;
    }
    const m = this.o.metrics;
    if (!m) return;
    let delivered = 0;
    let dropped = 0;
    for (const o of batch) {
      if (o.kind !== "complete") continue;
      if (o.dropped) dropped++;
      else {
        delivered++;
        if (o.latencyMs !== undefined) m.latency(o.latencyMs);
      }
    }
    if (delivered) m.outcome("delivered", delivered);
    if (dropped) m.outcome("dropped", dropped);
    const retried = batch.filter((o) => o.kind === "retry").length;
    if (retried) m.outcome("retried", retried);
    const dead = batch.filter((o) => o.kind === "dead").length;
    if (dead) m.outcome("dead_lettered", dead);
  }

  private ruleArn(bus: string, rule: string): string {
    const { region, accountId } = this.o.aws;
    return `arn:aws:events:${region}:${accountId}:rule/${bus === "default" ? rule : `${bus}/${rule}`}`;
  }
}

/**
 * The delivery's `webhook-id`: the same for each attempt of it, different for every other
 * delivery (a replay or a redrive is a new one). A row id alone could repeat: SQLite reuses
 * the rowid of a deleted row.
 */
function deliveryId(d: StoredDelivery): string {
  return `msg_${d.eventSeq}_${d.id}_${d.createdAt.toString(36)}`;
}

function memo<T>(cache: Map<string, Promise<unknown>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load();
    cache.set(key, p);
  }
  return p;
}
