import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testDeadLetter, testDelivery } from "./delivery-testing.js";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";
import type { MetaStore, NewDeadLetter } from "./store.js";

/**
 * DeliveryStore's listings for the console on both dialects: pending deliveries by rule or
 * target with offsets (attempts and leases as the claim left them), dead letters newest first
 * with offsets, and letters selected by id (the console's redrive of one letter), counted and
 * redriven through the same store method as `drydock events dlq redrive`.
 */

const delivery = testDelivery;
// Dead letters of three attempts (the listing shows them as they are).
const letter = (eventSeq: number, over: Partial<NewDeadLetter> = {}) =>
  testDeadLetter(eventSeq, { attempts: 3, ...over });

describe.each(metaDrivers("DeliveryStore listings"))("DeliveryStore listings (%s)", (_driver, open) => {
  let f: DriverFixture;
  let store: MetaStore;
  let clock = 1_000;
  beforeEach(async () => {
    clock = 1_000;
    f = await open(() => clock);
    store = f.store;
  });
  afterEach(async () => {
    await f.store.close();
    await f.cleanup();
  });

  it("lists pending deliveries by rule and target, with offsets, attempts and leases", async () => {
    await store.deliveries.enqueue([
      delivery(1),
      delivery(2, { targetId: "t2" }),
      delivery(3, { rule: "r2" }),
      delivery(4),
    ]);
    const [claimed] = await store.deliveries.claim(1, 60_000);
    expect(claimed!.eventSeq).toBe(1);
    const all = await store.deliveries.list({ limit: 10 });
    expect(all.map((d) => d.eventSeq)).toEqual([1, 2, 3, 4]);
    expect(all[0]).toMatchObject({ attempts: 1, leaseUntil: 61_000 });
    expect(all[1]).toMatchObject({ attempts: 0, leaseUntil: null, lastError: null });
    expect((await store.deliveries.list({ rule: "r1", limit: 10 })).map((d) => d.eventSeq)).toEqual([
      1, 2, 4,
    ]);
    expect(
      (await store.deliveries.list({ rule: "r1", targetId: "t1", limit: 10 })).map((d) => d.eventSeq),
    ).toEqual([1, 4]);
    expect((await store.deliveries.list({ limit: 2, offset: 1 })).map((d) => d.eventSeq)).toEqual([2, 3]);
    expect(await store.deliveries.list({ bus: "other", limit: 10 })).toEqual([]);
  });

  it("lists dead letters newest first with offsets, selects them by id, and redrives exactly those", async () => {
    await store.deliveries.enqueue([1, 2, 3, 4].map((s) => delivery(s)));
    const claimed = await store.deliveries.claim(4, 60_000);
    await store.deliveries.deadLetter(
      claimed.map((d) => ({ id: d.id, letter: letter(d.eventSeq, d.eventSeq === 4 ? { rule: "r2" } : {}) })),
      claimed[0]!.leaseToken!,
    );
    const newest = await store.deliveries.deadLetters({ limit: 10, newestFirst: true });
    expect(newest.map((l) => l.eventSeq)).toEqual([4, 3, 2, 1]);
    expect(
      (await store.deliveries.deadLetters({ limit: 2, offset: 1, newestFirst: true })).map((l) => l.eventSeq),
    ).toEqual([3, 2]);
    expect((await store.deliveries.deadLetters({ limit: 10, offset: 3 })).map((l) => l.eventSeq)).toEqual([
      4,
    ]);
    const ids = [newest[1]!.id, newest[3]!.id]; // events 3 and 1
    expect(await store.deliveries.countDeadLetters({ ids })).toBe(2);
    expect(await store.deliveries.countDeadLetters({ ids, rule: "r2" })).toBe(0);
    expect(await store.deliveries.countDeadLetters({ ids: [] })).toBe(0);
    expect(await store.deliveries.redrive({ ids: [] })).toBe(0);
    expect(await store.deliveries.countDeadLetters()).toBe(4);

    clock = 5_000;
    expect(await store.deliveries.redrive({ ids })).toBe(2);
    expect((await store.deliveries.deadLetters({ limit: 10 })).map((l) => l.eventSeq)).toEqual([2, 4]);
    const again = await store.deliveries.list({ limit: 10 });
    expect(again.map((d) => [d.eventSeq, d.attempts, d.runAfter])).toEqual([
      [1, 0, 5_000],
      [3, 0, 5_000],
    ]);
  });
});
