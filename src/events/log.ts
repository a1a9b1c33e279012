import type { MetaStore } from "../storage/meta/store.js";
import type { EventEnvelope } from "./envelope.js";

/**
 * The durable event log (table event_log). Events are appended with the MetaStore of the
 * transaction that makes the change they describe, so an event exists if and only if its
 * change was committed. Delivery to rules and targets reads from here (at least once).
 */

export interface LoggedEvent {
  seq: number;
  event: EventEnvelope;
}

export async function appendEvent(tx: MetaStore, e: EventEnvelope): Promise<void> {
  await tx.db
    .insertInto("event_log")
    .values({
      id: e.id,
      time: Date.parse(e.time),
      source: e.source,
      detail_type: e["detail-type"],
      json: JSON.stringify(e),
    })
    .execute();
}

/** Events after `afterSeq`, oldest first. */
export async function readEvents(meta: MetaStore, afterSeq: number, limit = 1000): Promise<LoggedEvent[]> {
  const rows = await meta.db
    .selectFrom("event_log")
    .select(["seq", "json"])
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ seq: r.seq, event: JSON.parse(r.json) as EventEnvelope }));
}

/** The sequence number of the newest event (0 when the log is empty). */
export async function lastEventSeq(meta: MetaStore): Promise<number> {
  const row = await meta.db
    .selectFrom("event_log")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}
