import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testDeadLetter, testDelivery } from "./delivery-testing.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import { openPostgresMetaStore } from "./postgres.js";
import { freshPostgresDatabase, pgServerUrl } from "./postgres-testing.js";
import type { MetaStore } from "./store.js";
import { until } from "./testing.js";

/**
 * Commit signals (signals.ts) on each driver, between two connections to one database (two
 * processes): a commit that queues deliveries wakes the other side's subscriber, a rollback
 * does not, an unsubscribed one is not called; on PostgreSQL a lost listening connection is
 * made again and every subscriber looks once.
 */

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(metaDrivers("commit signals"))("commit signals (%s)", (_driver, open) => {
  let f: DriverFixture;
  let writer: MetaStore;
  let listener: MetaStore;

  beforeEach(async () => {
    f = await open(Date.now);
    writer = f.store;
    listener = await f.another();
  });

  afterEach(async () => {
    await listener.close();
    await writer.close();
    await f.cleanup();
  });

  it("a commit that queues deliveries wakes the other connection's subscriber; a rollback does not", async () => {
    let calls = 0;
    const off = listener.signals.subscribe("deliveries", () => calls++);
    await settle(200); // PostgreSQL: the LISTEN connection is made on the first subscription
    calls = 0;
    await writer
      .tx(async (tx) => {
        await tx.deliveries.enqueue([testDelivery(1)]);
        throw new Error("rolled back");
      })
      .catch(() => undefined);
    await settle(200);
    expect(calls).toBe(0);
    await writer.deliveries.enqueue([testDelivery(2)]);
    await until("the signal", () => calls > 0);
    off();
    calls = 0;
    await writer.deliveries.enqueue([testDelivery(3)]);
    await settle(200);
    expect(calls).toBe(0);
  });

  it("a redrive of dead letters signals too; the next due time is the earliest run_after", async () => {
    expect(await listener.deliveries.nextDue()).toBeNull();
    await writer.deliveries.enqueue([testDelivery(1, { runAfter: 9_000_000_000_000 })]);
    expect(await listener.deliveries.nextDue()).toBe(9_000_000_000_000);
    await writer.deliveries.enqueue([testDelivery(2, { runAfter: 5 })]);
    expect(await listener.deliveries.nextDue()).toBe(5);
    let calls = 0;
    listener.signals.subscribe("deliveries", () => calls++);
    await settle(200);
    calls = 0;
    const [claimed] = await writer.deliveries.claim(1, 60_000);
    await writer.deliveries.deadLetter(
      [
        {
          id: claimed!.id,
          letter: testDeadLetter(2, { attempts: 1 }),
        },
      ],
      claimed!.leaseToken!,
    );
    await settle(100);
    calls = 0;
    expect(await writer.deliveries.redrive({})).toBe(1);
    await until("the redrive's signal", () => calls > 0);
  });
});

describe.skipIf(!pgServerUrl)("commit signals on PostgreSQL: a lost listening connection", () => {
  it("is made again, every subscriber looks once, and later signals arrive", async () => {
    const db = await freshPostgresDatabase();
    const writer = openPostgresMetaStore(db.url);
    await writer.migrate();
    const listener = openPostgresMetaStore(db.url);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      let calls = 0;
      listener.signals.subscribe("deliveries", () => calls++);
      const listening = async () =>
        (
          await admin.query<{ pid: number }>(
            "select pid from pg_stat_activity where datname = current_database() and query like 'LISTEN drydock_%'",
          )
        ).rows;
      for (let i = 0; i < 200 && !(await listening()).length; i++) await settle(10);
      expect(await listening()).toHaveLength(1);
      calls = 0;
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'LISTEN drydock_%'",
      );
      await until("the look after reconnecting", () => calls > 0, 10_000);
      expect(await listening()).toHaveLength(1);
      calls = 0;
      await writer.deliveries.enqueue([testDelivery(1)]);
      await until("a signal after reconnecting", () => calls > 0);
    } finally {
      await admin.end();
      await listener.close();
      await writer.close();
      await db.drop();
    }
  });
});
