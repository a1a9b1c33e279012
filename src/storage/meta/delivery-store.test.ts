import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testDeadLetter, testDelivery } from "./delivery-testing.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { MetaStore } from "./store.js";

/**
 * DeliveryStore conformance on both dialects (SQLite in a temporary directory, PostgreSQL from
 * the test server): deliveries written with their event's transaction, leased claims (expired
 * leases claimable again), token fencing of every write, dead letters and their redrive, and on
 * PostgreSQL claimers on several connections at once never holding the same delivery.
 */

const delivery = testDelivery;
const letter = testDeadLetter;

describe.each(metaDrivers("DeliveryStore"))("DeliveryStore (%s)", (driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  let clock = 1_000;
  const others: MetaStore[] = [];
  beforeEach(async () => {
    clock = 1_000;
    f = await open(() => clock);
    store = f.store;
  });
  afterEach(async () => {
    for (const s of others.splice(0)) await s.close();
    await f.store.close();
    await f.cleanup();
  });

  it("enqueues in the caller's transaction: a rollback leaves nothing", async () => {
    await expect(
      store.tx(async (tx) => {
        const seq = await tx.events.append({ id: "e", time: 1, source: "s", detailType: "d", json: "{}" });
        await tx.deliveries.enqueue([delivery(seq), delivery(seq, { targetId: "t2" })]);
        expect(await tx.deliveries.pending()).toBe(2);
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    expect(await store.deliveries.pending()).toBe(0);
    expect(await store.deliveries.claim(10, 60_000)).toEqual([]);
    await store.deliveries.enqueue([]);
    expect(await store.deliveries.pending()).toBe(0);
  });

  it("enqueues a large batch in one transaction (chunked) and claims it all in due order", async () => {
    const n = 2_503;
    await store.tx((tx) =>
      tx.deliveries.enqueue(
        Array.from({ length: n }, (_, i) => delivery(i + 1, { runAfter: 1_000 - (i % 7) })),
      ),
    );
    expect(await store.deliveries.pending()).toBe(n);
    const first = await store.deliveries.claim(10, 60_000);
    // Due order: the earliest runAfter first (then id).
    expect(first.every((d) => d.eventSeq % 7 === 0)).toBe(true);
    const seen = new Set(first.map((d) => d.id));
    for (;;) {
      const batch = await store.deliveries.claim(1_000, 60_000);
      if (!batch.length) break;
      for (const d of batch) seen.add(d.id);
    }
    expect(seen.size).toBe(n);
  });

  it("releaseLeases makes leased deliveries due now and voids their tokens (an embedded restart)", async () => {
    await store.deliveries.enqueue([delivery(1), delivery(2), delivery(3, { runAfter: 9_000 })]);
    const held = await store.deliveries.claim(10, 60_000);
    expect(held).toHaveLength(2);
    expect(await store.deliveries.releaseLeases()).toBe(2);
    // The old token finishes nothing; the deliveries are claimable at once, attempt 2.
    expect(await store.deliveries.complete([held[0]!.id], held[0]!.leaseToken!)).toEqual([]);
    const again = await store.deliveries.claim(10, 60_000);
    expect(again.map((d) => [d.eventSeq, d.attempts])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(await store.deliveries.pending()).toBe(3);
  });

  it("claim leases each delivery once; an expired lease is claimable again; attempts count claims", async () => {
    await store.deliveries.enqueue([
      delivery(1, { eventJson: '{"replayed":true}' }),
      delivery(2),
      delivery(3, { runAfter: 5_000 }),
    ]);
    const a = await store.deliveries.claim(10, 60_000);
    expect(a).toHaveLength(2);
    expect(a[0]).toEqual({
      id: a[0]!.id,
      bus: "default",
      rule: "r1",
      targetId: "t1",
      eventSeq: 1,
      eventJson: '{"replayed":true}',
      eventTime: 500,
      runAfter: 61_000,
      attempts: 1,
      leaseUntil: 61_000,
      leaseToken: expect.any(String),
      lastError: null,
      createdAt: 1_000,
    });
    expect(a[1]!.leaseToken).toBe(a[0]!.leaseToken);
    expect(a[1]).toMatchObject({ eventSeq: 2, eventJson: null });
    // Leased: a second claim gets neither; the third is not due yet.
    expect(await store.deliveries.claim(10, 60_000)).toEqual([]);
    clock = 5_000;
    const b = await store.deliveries.claim(10, 60_000);
    expect(b.map((d) => d.eventSeq)).toEqual([3]);
    expect(b[0]!.leaseToken).not.toBe(a[0]!.leaseToken);
    // The first lease runs out (its process died): taken over with a new token, attempt 2.
    clock = 61_000;
    const c = await store.deliveries.claim(1, 60_000);
    expect(c.map((d) => [d.eventSeq, d.attempts])).toEqual([[1, 2]]);
    expect(c[0]!.leaseToken).not.toBe(a[0]!.leaseToken);
    expect(await store.deliveries.claim(0, 60_000)).toEqual([]);
    expect(await store.deliveries.pending()).toBe(3);
  });

  it("complete, reschedule and deadLetter act only while the token holds", async () => {
    await store.deliveries.enqueue([delivery(1), delivery(2), delivery(3), delivery(4)]);
    const stale = await store.deliveries.claim(10, 1_000);
    const ids = stale.map((d) => d.id);
    const staleToken = stale[0]!.leaseToken!;
    clock = 3_000;
    const fresh = await store.deliveries.claim(10, 60_000);
    expect(fresh.map((d) => d.id)).toEqual(ids);
    const token = fresh[0]!.leaseToken!;
    // The stale holder can finish nothing.
    expect(await store.deliveries.complete(ids, staleToken)).toEqual([]);
    expect(await store.deliveries.reschedule([{ id: ids[0]!, runAfter: 0, error: "x" }], staleToken)).toEqual(
      [],
    );
    expect(await store.deliveries.deadLetter([{ id: ids[1]!, letter: letter(2) }], staleToken)).toEqual([]);
    expect(await store.deliveries.countDeadLetters()).toBe(0);
    expect(await store.deliveries.pending()).toBe(4);
    // The holder: completes one (twice: the second does nothing), reschedules two, dead-letters one.
    expect(await store.deliveries.complete([ids[0]!], token)).toEqual([ids[0]]);
    expect(await store.deliveries.complete([ids[0]!], token)).toEqual([]);
    expect(
      (
        await store.deliveries.reschedule(
          [
            { id: ids[1]!, runAfter: 10_000, error: "HTTP 503" },
            { id: ids[2]!, runAfter: 20_000, error: null },
            { id: ids[0]!, runAfter: 1, error: "gone already" },
          ],
          token,
        )
      ).sort((x, y) => x - y),
    ).toEqual([ids[1], ids[2]]);
    // A rescheduled delivery's lease is released: the old token no longer acts on it.
    expect(await store.deliveries.complete([ids[1]!], token)).toEqual([]);
    expect(await store.deliveries.deadLetter([{ id: ids[3]!, letter: letter(4) }], token)).toEqual([ids[3]]);
    expect(await store.deliveries.pending()).toBe(2);
    expect(await store.deliveries.reschedule([], token)).toEqual([]);
    expect(await store.deliveries.complete([], token)).toEqual([]);
    expect(await store.deliveries.deadLetter([], token)).toEqual([]);
  });

  it("reschedule sets the next attempt's time and error; the delivery is due again then", async () => {
    await store.deliveries.enqueue([delivery(1), delivery(2)]);
    const [d1, d2] = await store.deliveries.claim(10, 60_000);
    await store.deliveries.reschedule(
      [
        { id: d1!.id, runAfter: 10_000, error: "HTTP 429" },
        { id: d2!.id, runAfter: 4_000, error: null },
      ],
      d1!.leaseToken!,
    );
    clock = 3_999;
    expect(await store.deliveries.claim(10, 60_000)).toEqual([]);
    clock = 4_000;
    expect(
      (await store.deliveries.claim(10, 60_000)).map((d) => [d.eventSeq, d.attempts, d.lastError]),
    ).toEqual([[2, 2, null]]);
    clock = 10_000;
    expect(
      (await store.deliveries.claim(10, 60_000)).map((d) => [d.eventSeq, d.attempts, d.lastError]),
    ).toEqual([[1, 2, "HTTP 429"]]);
  });

  it("deadLetter moves deliveries in order and keeps the letter; queries filter and page; redrive moves back", async () => {
    await store.deliveries.enqueue([
      delivery(1),
      delivery(2, { targetId: "t2" }),
      delivery(3, { rule: "r2" }),
      delivery(4, { bus: "orders" }),
    ]);
    const claimed = await store.deliveries.claim(10, 60_000);
    const token = claimed[0]!.leaseToken!;
    const bySeq = new Map(claimed.map((d) => [d.eventSeq, d.id]));
    clock = 2_000;
    expect(
      await store.deliveries.deadLetter(
        [
          { id: bySeq.get(1)!, letter: letter(1) },
          {
            id: bySeq.get(2)!,
            letter: letter(2, { targetId: "t2", queue: "ops", errorCode: "SDK_CLIENT_ERROR" }),
          },
        ],
        token,
      ),
    ).toEqual([bySeq.get(1), bySeq.get(2)]);
    clock = 3_000;
    await store.deliveries.deadLetter(
      [
        { id: bySeq.get(3)!, letter: letter(3, { rule: "r2", errorCode: "MAXIMUM_EVENT_AGE_EXCEEDED" }) },
        { id: bySeq.get(4)!, letter: letter(4, { bus: "orders" }) },
      ],
      token,
    );
    expect(await store.deliveries.pending()).toBe(0);
    const all = await store.deliveries.deadLetters({ limit: 10 });
    expect(all.map((l) => l.eventSeq)).toEqual([1, 2, 3, 4]);
    expect(all[1]).toEqual({
      ...letter(2, { targetId: "t2", queue: "ops", errorCode: "SDK_CLIENT_ERROR" }),
      id: all[1]!.id,
      deadAt: 2_000,
    });
    const seqs = async (q: Parameters<typeof store.deliveries.deadLetters>[0]) =>
      (await store.deliveries.deadLetters(q)).map((l) => l.eventSeq);
    expect(await seqs({ queue: "ops", limit: 10 })).toEqual([2]);
    expect(await seqs({ queue: "default", limit: 10 })).toEqual([1, 3, 4]);
    expect(await seqs({ rule: "r2", limit: 10 })).toEqual([3]);
    expect(await seqs({ targetId: "t1", limit: 10 })).toEqual([1, 3, 4]);
    expect(await seqs({ bus: "orders", limit: 10 })).toEqual([4]);
    expect(await seqs({ since: 3_000, limit: 10 })).toEqual([3, 4]);
    expect(await seqs({ rule: "r1", targetId: "t1", bus: "default", limit: 10 })).toEqual([1]);
    // Paging by afterId.
    expect(await seqs({ limit: 2 })).toEqual([1, 2]);
    expect(await seqs({ afterId: all[1]!.id, limit: 2 })).toEqual([3, 4]);
    expect(await seqs({ afterId: all[3]!.id, limit: 2 })).toEqual([]);
    expect(await store.deliveries.countDeadLetters()).toBe(4);
    expect(await store.deliveries.countDeadLetters({ targetId: "t1", since: 3_000 })).toBe(2);

    // Redrive what `since` selects: back to deliveries, due now, attempts 0, with the letter's envelope.
    clock = 9_000;
    expect(await store.deliveries.redrive({ since: 3_000, bus: "default" })).toBe(1);
    expect(await store.deliveries.countDeadLetters()).toBe(3);
    expect(await store.deliveries.pending({ rule: "r2" })).toBe(1);
    const back = await store.deliveries.claim(10, 60_000);
    expect(back).toEqual([
      {
        id: back[0]!.id,
        bus: "default",
        rule: "r2",
        targetId: "t1",
        eventSeq: 3,
        eventJson: '{"seq":3}',
        eventTime: 500,
        runAfter: 69_000,
        attempts: 1,
        leaseUntil: 69_000,
        leaseToken: expect.any(String),
        lastError: null,
        createdAt: 9_000,
      },
    ]);
    expect(await store.deliveries.redrive({ queue: "nope" })).toBe(0);
    expect(await store.deliveries.redrive({})).toBe(3);
    expect(await store.deliveries.countDeadLetters()).toBe(0);
    expect(await store.deliveries.pending()).toBe(4);
  });

  it("redrive moves many letters in one transaction (a rollback moves none)", async () => {
    const n = 2_345;
    await store.deliveries.enqueue(Array.from({ length: n }, (_, i) => delivery(i + 1)));
    const claimed = await store.deliveries.claim(n, 60_000);
    await store.deliveries.deadLetter(
      claimed.map((d) => ({ id: d.id, letter: letter(d.eventSeq) })),
      claimed[0]!.leaseToken!,
    );
    expect(await store.deliveries.countDeadLetters()).toBe(n);
    await expect(
      store.tx(async (tx) => {
        expect(await tx.deliveries.redrive({})).toBe(n);
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    expect(await store.deliveries.countDeadLetters()).toBe(n);
    expect(await store.deliveries.pending()).toBe(0);
    expect(await store.deliveries.redrive({ rule: "r1" })).toBe(n);
    expect(await store.deliveries.pending()).toBe(n);
    const seqs = new Set<number>();
    for (
      let b = await store.deliveries.claim(1_000, 60_000);
      b.length;
      b = await store.deliveries.claim(1_000, 60_000)
    )
      for (const d of b) seqs.add(d.eventSeq);
    expect(seqs.size).toBe(n);
  });

  it("pending counts by bus, rule and target; dropFor drops a rule's or a target's", async () => {
    await store.deliveries.enqueue([
      delivery(1),
      delivery(2),
      delivery(3, { targetId: "t2" }),
      delivery(4, { rule: "r2" }),
      delivery(5, { bus: "orders" }),
    ]);
    // A leased delivery is still pending.
    await store.deliveries.claim(1, 60_000);
    expect(await store.deliveries.pending()).toBe(5);
    expect(await store.deliveries.pending({ bus: "default" })).toBe(4);
    expect(await store.deliveries.pending({ bus: "default", rule: "r1" })).toBe(3);
    expect(await store.deliveries.pending({ bus: "default", rule: "r1", targetId: "t1" })).toBe(2);
    expect(await store.deliveries.dropFor("default", "r1", "t1")).toBe(2);
    expect(await store.deliveries.pending({ rule: "r1" })).toBe(2);
    expect(await store.deliveries.dropFor("default", "r1")).toBe(1);
    expect(await store.deliveries.dropFor("default", "r1")).toBe(0);
    expect(await store.deliveries.pending()).toBe(2);
  });

  it("claimers on other connections (other processes) never hold the same delivery", async () => {
    const n = 600;
    await store.deliveries.enqueue(Array.from({ length: n }, (_, i) => delivery(i + 1)));
    const b = await f.another();
    const c = await f.another();
    others.push(b, c);
    // PostgreSQL: every claim below runs at once, on connections of three pools (and several of
    // one pool), so SKIP LOCKED is what keeps them apart. SQLite serializes writers; the claims
    // still interleave between statements.
    const claimer = async (s: MetaStore) => {
      const got: number[] = [];
      for (;;) {
        const batch = await s.deliveries.claim(17, 60_000);
        if (!batch.length) return got;
        got.push(...batch.map((d) => d.id));
      }
    };
    const results = await Promise.all([store, store, b, b, c].map(claimer));
    const all = results.flat();
    expect(all).toHaveLength(n);
    expect(new Set(all).size).toBe(n);
    if (driver === "postgres") expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);
  });
});
