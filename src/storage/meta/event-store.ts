import type { Selectable } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/** An event as the log keeps it: the EventBridge envelope's JSON and its position. */
export interface StoredEvent {
  seq: number;
  id: string;
  time: number;
  source: string;
  detailType: string;
  json: string;
  /** The event bus it was put on. */
  bus: string;
}

/** What `append` takes: the bus defaults to `default`. */
export type NewEvent = Omit<StoredEvent, "seq" | "bus"> & { bus?: string };

/**
 * The durable event log (table event_log). Contract: `append` runs in the transaction of the
 * change the event describes (an event exists iff its change committed); `seq` comes from the
 * counter row `counters('event_log')`, incremented in that transaction, whose row lock holds
 * other appenders until commit, so sequence order is commit order and a reader that resumes
 * at `seq > cursor` can never skip an event committed late.
 */
export class EventStore {
  constructor(private readonly h: Handle) {}

  async append(e: NewEvent): Promise<number> {
    return this.h.tx(async (t) => {
      const c = await t.db
        .updateTable("counters")
        .set((eb) => ({ value: eb("value", "+", 1) }))
        .where("name", "=", "event_log")
        .returning("value")
        .executeTakeFirstOrThrow();
      const seq = Number(c.value);
      await t.db
        .insertInto("event_log")
        .values({
          seq,
          id: e.id,
          time: e.time,
          source: e.source,
          detail_type: e.detailType,
          json: e.json,
          bus: e.bus ?? "default",
        })
        .execute();
      return seq;
    });
  }

  /**
   * Appends events in order, in the caller's transaction, as `append` does one: the counter
   * moves once for all of them (a re-match appends a hundred thousand). Returns the first seq.
   */
  async appendMany(events: readonly NewEvent[]): Promise<number> {
    if (!events.length) return 0;
    return this.h.tx(async (t) => {
      const c = await t.db
        .updateTable("counters")
        .set((eb) => ({ value: eb("value", "+", events.length) }))
        .where("name", "=", "event_log")
        .returning("value")
        .executeTakeFirstOrThrow();
      const first = Number(c.value) - events.length + 1;
      const BATCH = 500;
      for (let i = 0; i < events.length; i += BATCH)
        await t.db
          .insertInto("event_log")
          .values(
            events.slice(i, i + BATCH).map((e, j) => ({
              seq: first + i + j,
              id: e.id,
              time: e.time,
              source: e.source,
              detail_type: e.detailType,
              json: e.json,
              bus: e.bus ?? "default",
            })),
          )
          .execute();
      return first;
    });
  }

  /** Events after `afterSeq`, oldest first. */
  async read(afterSeq: number, limit = 1000): Promise<StoredEvent[]> {
    const rows = await this.h.db
      .selectFrom("event_log")
      .selectAll()
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  /** The events of these seqs (any order, missing ones left out), in seq order. */
  async bySeqs(seqs: readonly number[]): Promise<StoredEvent[]> {
    const unique = [...new Set(seqs)];
    const out: StoredEvent[] = [];
    // Chunked: SQLite allows at most 32,766 bound parameters in one statement.
    const CHUNK = 1000;
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.h.db
        .selectFrom("event_log")
        .selectAll()
        .where("seq", "in", unique.slice(i, i + CHUNK))
        .execute();
      out.push(...rows.map(toEvent));
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** The sequence number of the newest committed event (0 when the log is empty). */
  async lastSeq(): Promise<number> {
    const row = await this.h.db
      .selectFrom("event_log")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  }
}

function toEvent(r: Selectable<Database["event_log"]>): StoredEvent {
  return {
    seq: Number(r.seq),
    id: r.id,
    time: Number(r.time),
    source: r.source,
    detailType: r.detail_type,
    json: r.json,
    bus: r.bus,
  };
}
