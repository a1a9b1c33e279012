import type { MetaStore } from "../storage/meta/store.js";
import type { EventEnvelope } from "./envelope.js";

/**
 * The durable event log (the EventStore of storage/meta). Events are appended with the
 * MetaStore of the transaction that makes the change they describe, so an event exists if and
 * only if its change was committed; their sequence is commit order, so a reader resuming after
 * the last sequence it saw never misses one. Delivery to rules and targets reads from here.
 */

export interface LoggedEvent {
  seq: number;
  event: EventEnvelope;
}

export async function appendEvent(tx: MetaStore, e: EventEnvelope): Promise<void> {
  await tx.events.append({
    id: e.id,
    time: Date.parse(e.time),
    source: e.source,
    detailType: e["detail-type"],
    json: JSON.stringify(e),
  });
}

/** Appends events in order, in one step of the log (the caller's transaction, as appendEvent). */
export async function appendEvents(tx: MetaStore, events: readonly EventEnvelope[]): Promise<void> {
  await tx.events.appendMany(
    events.map((e) => ({
      id: e.id,
      time: Date.parse(e.time),
      source: e.source,
      detailType: e["detail-type"],
      json: JSON.stringify(e),
    })),
  );
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
