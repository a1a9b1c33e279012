import type { MetaStore, NewDelivery } from "../storage/meta/store.js";
import type { EventEnvelope } from "./envelope.js";
import { routingTable, type RoutedTarget } from "./router.js";

/**
 * The durable event log (the EventStore of storage/meta) and the routing step behind it. Events
 * are appended with the MetaStore of the transaction that makes the change they describe, so an
 * event exists if and only if its change was committed; their sequence is commit order, so a
 * reader resuming after the last sequence it saw never misses one. In the same transaction each
 * event is matched against its bus's rules (src/events/router.ts): its deliveries to their
 * targets and its archive entries are written with it, so a committed event can never miss a
 * delivery, and a rolled-back change delivers nothing.
 */

export interface LoggedEvent {
  seq: number;
  event: EventEnvelope;
}

export interface AppendOptions {
  /**
   * The events came from another bus through an event-bus target: they are routed once more,
   * but not forwarded to a further bus (one hop, so two buses that target each other cannot loop).
   */
  forwarded?: boolean;
}

export const DEFAULT_BUS = "default";

/** Wakes this process's delivery workers after a routing step enqueued deliveries. */
const WAKE_KEY = "events.wake";

export function onDeliveriesQueued(meta: MetaStore, wake: () => void): void {
  meta.processCache.set(WAKE_KEY, wake);
}

/**
 * Wakes this process's delivery workers after deliveries were queued outside routing (the
 * console's redrive), once committed; without workers here (another node sends) the poll finds them.
 */
export function wakeDeliveries(meta: MetaStore): void {
  const wake = meta.processCache.get(WAKE_KEY) as (() => void) | undefined;
  if (wake) setTimeout(wake, 1).unref();
}

export async function appendEvent(tx: MetaStore, e: EventEnvelope, bus = DEFAULT_BUS): Promise<void> {
  await appendEvents(tx, [e], bus);
}

/** Appends events in order, in one step of the log (the caller's transaction), and routes them. */
export async function appendEvents(
  tx: MetaStore,
  events: readonly EventEnvelope[],
  bus = DEFAULT_BUS,
  o: AppendOptions = {},
): Promise<void> {
  if (!events.length) return;
  await tx.tx(async (t) => {
    const first = await t.events.appendMany(events.map((e) => logRow(e, bus)));
    await route(
      t,
      bus,
      events.map((event, i) => ({ seq: first + i, event })),
      o,
    );
  });
}

/**
 * Appends one event that goes to one rule's targets only, whatever their patterns (a scheduled
 * rule's `Scheduled Event`, as EventBridge sends it to the rule that fired).
 */
export async function appendRuleEvent(
  tx: MetaStore,
  bus: string,
  rule: string,
  e: EventEnvelope,
): Promise<void> {
  await tx.tx(async (t) => {
    const seq = await t.events.append(logRow(e, bus));
    const table = await routingTable(t);
    await enqueue(t, deliveriesOf(table.targetsOfRule(bus, rule), seq, e, null));
  });
}

/**
 * Routes events already in the log again, to the bus's rules (all, or `rules` only), with the
 * envelope to deliver given (a replay adds `replay-name`). Not archived again.
 */
export async function rerouteEvents(
  tx: MetaStore,
  bus: string,
  events: readonly { seq: number; event: EventEnvelope }[],
  rules?: ReadonlySet<string>,
): Promise<number> {
  const table = await routingTable(tx);
  const deliveries: NewDelivery[] = [];
  for (const { seq, event } of events)
    deliveries.push(...deliveriesOf(table.targetsFor(bus, event, rules), seq, event, JSON.stringify(event)));
  await enqueue(tx, deliveries);
  return deliveries.length;
}

async function route(
  tx: MetaStore,
  bus: string,
  events: readonly { seq: number; event: EventEnvelope }[],
  o: AppendOptions,
): Promise<void> {
  const table = await routingTable(tx);
  if (!table.hasRoutes(bus)) return;
  const deliveries: NewDelivery[] = [];
  const archived: { archive: string; seq: number; time: number; size: number }[] = [];
  for (const { seq, event } of events) {
    let targets = table.targetsFor(bus, event);
    if (o.forwarded) targets = targets.filter((t) => !t.toBus);
    deliveries.push(...deliveriesOf(targets, seq, event, null));
    const archives = table.archivesFor(bus, event);
    if (archives.length) {
      const time = Date.parse(event.time);
      const size = Buffer.byteLength(JSON.stringify(event));
      for (const archive of archives) archived.push({ archive, seq, time, size });
    }
  }
  if (archived.length) await tx.bus.archiveEvents(archived);
  await enqueue(tx, deliveries);
}

function deliveriesOf(
  targets: readonly RoutedTarget[],
  seq: number,
  event: EventEnvelope,
  eventJson: string | null,
): NewDelivery[] {
  const eventTime = Date.parse(event.time);
  return targets.map((t) => ({
    bus: t.rule.bus,
    rule: t.rule.name,
    targetId: t.target.id,
    eventSeq: seq,
    eventJson,
    eventTime: Number.isFinite(eventTime) ? eventTime : Date.now(),
  }));
}

async function enqueue(tx: MetaStore, deliveries: readonly NewDelivery[]): Promise<void> {
  if (!deliveries.length) return;
  await tx.deliveries.enqueue(deliveries);
  const wake = tx.processCache.get(WAKE_KEY) as (() => void) | undefined;
  // After the current transaction has had a chance to commit; a miss is caught by the poll.
  if (wake) setTimeout(wake, 1).unref();
}

function logRow(e: EventEnvelope, bus: string) {
  return {
    id: e.id,
    time: Date.parse(e.time),
    source: e.source,
    detailType: e["detail-type"],
    json: JSON.stringify(e),
    bus,
  };
}

/** Events after `afterSeq`, oldest first. */
export async function readEvents(meta: MetaStore, afterSeq: number, limit = 1000): Promise<LoggedEvent[]> {
  return (await meta.events.read(afterSeq, limit)).map((r) => ({
    seq: r.seq,
    event: JSON.parse(r.json) as EventEnvelope,
  }));
}

/** The sequence number of the newest event (0 when the log is empty). */
export function lastEventSeq(meta: MetaStore): Promise<number> {
  return meta.events.lastSeq();
}
