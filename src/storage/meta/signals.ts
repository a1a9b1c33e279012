import type SqliteDatabase from "better-sqlite3";
import pg from "pg";

/**
 * Commit signals: how a process learns that another process committed work for it (an event
 * delivery, a job) without asking the database on a short timer. A worker subscribes to a
 * topic and is called after such a commit; the writer raises the topic in its transaction
 * (`Handle.signal`). A signal is a hint, never the data: it may come spuriously, and a lost one
 * (a dropped connection) is made up by the subscriber's own slow fallback poll, so a subscriber
 * always reads the table itself.
 *
 * - PostgreSQL: LISTEN/NOTIFY. The writer's `pg_notify` is delivered at its commit (never for
 *   a rolled-back transaction) to one listening connection per process, opened on the first
 *   subscription; after that connection is lost and made again, every subscriber is called
 *   once (a notification may have been missed meanwhile).
 * - SQLite: `PRAGMA data_version`, which moves when another connection commits to the file
 *   (the other processes on a data directory: CLI commands), read on a short timer while there
 *   are subscribers: a read of the shared WAL index under a momentary shared lock, no table
 *   read. Any commit signals every topic; this process's own commits do not (its writers wake
 *   their workers in-process).
 */

/**
 * What a signal is about. `deliveries`: event deliveries were queued (DeliveryStore.enqueue,
 * redrive); `jobs`: a job was queued (JobStore.enqueue).
 */
export type SignalTopic = "deliveries" | "jobs";

export interface CommitSignals {
  /**
   * Calls `fn` after another process committed a write that raised `topic` (possibly
   * spuriously, possibly coalesced); returns the unsubscribe.
   */
  subscribe(topic: SignalTopic, fn: () => void): () => void;
  close(): Promise<void>;
}

/** The PostgreSQL channel of a topic. */
export const signalChannel = (topic: SignalTopic): string => `drydock_${topic}`;

/** Subscribers by topic, called on a signal. */
class Subscribers {
  private readonly byTopic = new Map<SignalTopic, Set<() => void>>();

  add(topic: SignalTopic, fn: () => void): () => void {
    let set = this.byTopic.get(topic);
    if (!set) this.byTopic.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  get size(): number {
    let n = 0;
    for (const s of this.byTopic.values()) n += s.size;
    return n;
  }

  get topics(): SignalTopic[] {
    return [...this.byTopic.keys()];
  }

  call(topic?: SignalTopic): void {
    for (const [t, set] of this.byTopic)
      if (topic === undefined || t === topic)
        for (const fn of set) {
          try {
            fn();
          } catch {
            // a subscriber's failure is its own; the others are still called
          }
        }
  }
}

/** SQLite: `data_version` read every `intervalMs` while anyone subscribes. */
export class SqliteSignals implements CommitSignals {
  private readonly subscribers = new Subscribers();
  private timer: NodeJS.Timeout | undefined;
  private version: number | undefined;

  constructor(
    private readonly db: Pick<SqliteDatabase.Database, "pragma" | "open">,
    private readonly intervalMs = 25,
  ) {}

  subscribe(topic: SignalTopic, fn: () => void): () => void {
    const off = this.subscribers.add(topic, fn);
    if (!this.timer) {
      this.version = this.read();
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      off();
      if (this.subscribers.size === 0) this.stop();
    };
  }

  close(): Promise<void> {
    this.stop();
    return Promise.resolve();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private read(): number | undefined {
    if (!this.db.open) return undefined;
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  private tick(): void {
    const v = this.read();
    if (v === undefined) return this.stop();
    if (v === this.version) return;
    this.version = v;
    this.subscribers.call();
  }
}

/** PostgreSQL: one LISTEN connection per process, opened on the first subscription. */
export class PostgresSignals implements CommitSignals {
  private readonly subscribers = new Subscribers();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listening = new Set<SignalTopic>();

  constructor(
    private readonly url: string,
    private readonly reconnectMs = 1000,
  ) {}

  subscribe(topic: SignalTopic, fn: () => void): () => void {
    const off = this.subscribers.add(topic, fn);
    if (this.client && !this.listening.has(topic)) void this.listen(this.client, topic);
    else if (!this.client) this.connect();
    return off;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.connecting;
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
  }

  private connect(): void {
    if (this.connecting || this.closed) return;
    const c = new pg.Client({ connectionString: this.url });
    this.connecting = (async () => {
      try {
        c.on("notification", (n) => {
          const topic = topicOf(n.channel);
          if (topic) this.subscribers.call(topic);
        });
        c.on("error", () => this.lost(c));
        c.on("end", () => this.lost(c));
        await c.connect();
        if (this.closed) return void (await c.end().catch(() => undefined));
        this.client = c;
        this.listening.clear();
        for (const t of this.subscribers.topics) await this.listen(c, t);
        // Commits made while nobody listened are unknown: every subscriber looks once.
        this.subscribers.call();
      } catch {
        this.lost(c);
      } finally {
        this.connecting = undefined;
      }
    })();
    // The listening connection must not keep a process alive that has nothing else to do.
    const socket = (c as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream;
    socket?.unref?.();
  }

  private async listen(c: pg.Client, topic: SignalTopic): Promise<void> {
    this.listening.add(topic);
    try {
      await c.query(`LISTEN ${signalChannel(topic)}`);
    } catch {
      this.lost(c);
    }
  }

  private lost(c: pg.Client): void {
    if (this.client === c) this.client = undefined;
    c.end().catch(() => undefined);
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect();
    }, this.reconnectMs);
    this.retry.unref();
  }
}

function topicOf(channel: string): SignalTopic | undefined {
  return channel.startsWith("drydock_") ? (channel.slice("drydock_".length) as SignalTopic) : undefined;
}

/** No other process can write (an in-memory database): nothing to signal. */
export const NO_SIGNALS: CommitSignals = {
  subscribe: () => () => undefined,
  close: () => Promise.resolve(),
};
