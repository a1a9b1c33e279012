import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metaDrivers, type DriverFixture } from "../../storage/meta/drivers-testing.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import type { EventEnvelope } from "../envelope.js";
import { nextFireTime, parseScheduleExpression } from "./expression.js";
import { latestFiring, runSchedules } from "./runner.js";

/**
 * The scheduler on a real MetaStore (SQLite always, PostgreSQL when its test server is up) with a
 * fake clock: rules fire on time, once, to their own targets, and an outage fires once.
 */

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const MINUTE = 60_000;
const T0 = Date.parse("2026-03-02T10:00:30Z");

describe.each(metaDrivers("schedule runner"))("runSchedules (%s)", (driver, open) => {
  let clock: number;
  let f: DriverFixture;
  let meta: MetaStore;
  const others: MetaStore[] = [];
  const run = (m: MetaStore = meta) =>
    runSchedules(m, { region: REGION, accountId: ACCOUNT, now: () => clock });

  beforeEach(async () => {
    clock = T0;
    f = await open(() => clock);
    meta = f.store;
  });
  afterEach(async () => {
    for (const m of others.splice(0)) await m.close();
    await meta.close();
    await f.cleanup();
  });

  async function rule(name: string, scheduleExpression: string, state: "ENABLED" | "DISABLED" = "ENABLED") {
    await meta.bus.putRule({
      bus: "default",
      name,
      eventPattern: null,
      scheduleExpression,
      state,
      description: null,
      roleArn: null,
      createdBy: ACCOUNT,
    });
    await meta.bus.putTargets("default", name, [
      { Id: "cmd", Arn: `arn:drydock:command:${REGION}:${ACCOUNT}:report` },
    ]);
  }

  async function events(): Promise<EventEnvelope[]> {
    return (await meta.events.read(0, 1000)).map((r) => JSON.parse(r.json) as EventEnvelope);
  }

  /** Runs the scheduler every 10 s of fake time until `until`; returns the firings. */
  async function tick(until: number, step = 10_000): Promise<number> {
    let fired = 0;
    while (clock < until) {
      clock = Math.min(clock + step, until);
      fired += await run();
    }
    return fired;
  }

  it("a rate(1 minute) rule fires once per minute, on the minute, with the Scheduled Event", async () => {
    await rule("every-minute", "rate(1 minute)");
    expect(await run()).toBe(0); // created at 10:00:30: the first firing is 10:01:00
    expect(await tick(T0 + 5 * MINUTE)).toBe(5);
    const es = await events();
    expect(es.map((e) => e.time)).toEqual([
      "2026-03-02T10:01:00Z",
      "2026-03-02T10:02:00Z",
      "2026-03-02T10:03:00Z",
      "2026-03-02T10:04:00Z",
      "2026-03-02T10:05:00Z",
    ]);
    expect(es[0]).toMatchObject({
      version: "0",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: ACCOUNT,
      region: REGION,
      resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/every-minute`],
      detail: {},
    });
    expect(new Set(es.map((e) => e.id)).size).toBe(5);
    // each firing queued one delivery, to the rule's own target
    expect(await meta.deliveries.pending({ rule: "every-minute" })).toBe(5);
  });

  it("a cron rule fires at its matching minutes only", async () => {
    await rule("quarter", "cron(0/15 * * * ? *)");
    await rule("weekly", "cron(0 9 ? * MON *)"); // 2026-03-02 is a Monday: next is the 9th
    expect(await tick(T0 + 60 * MINUTE)).toBe(4);
    expect((await events()).map((e) => e.time)).toEqual([
      "2026-03-02T10:15:00Z",
      "2026-03-02T10:30:00Z",
      "2026-03-02T10:45:00Z",
      "2026-03-02T11:00:00Z",
    ]);
  });

  it("two schedulers running at once fire each firing once", async () => {
    await rule("every-minute", "rate(1 minute)");
    // On PostgreSQL a second connection set, as another node; on SQLite the same store (two
    // connections of one process would block each other's thread, see the deliverer's tests).
    const other = driver === "postgres" ? await f.another() : meta;
    if (other !== meta) others.push(other);
    let fired = 0;
    for (let i = 0; i < 12; i++) {
      clock += 10_000;
      const [a, b] = await Promise.all([run(meta), run(other)]);
      fired += a + b;
    }
    expect(fired).toBe(2);
    expect((await events()).map((e) => e.time)).toEqual(["2026-03-02T10:01:00Z", "2026-03-02T10:02:00Z"]);
  });

  it("a disabled rule does not fire, and does not fire what it missed when enabled again", async () => {
    await rule("off", "rate(1 minute)", "DISABLED");
    expect(await tick(T0 + 10 * MINUTE)).toBe(0);
    await meta.bus.setRuleState("default", "off", "ENABLED"); // at 10:10:30
    expect(await tick(T0 + 10 * MINUTE + 29_000)).toBe(0);
    expect(await events()).toEqual([]);
    expect(await tick(T0 + 12 * MINUTE)).toBe(2);
    expect((await events()).map((e) => e.time)).toEqual(["2026-03-02T10:11:00Z", "2026-03-02T10:12:00Z"]);
  });

  it("a firing due seconds before the rule changed still fires", async () => {
    await rule("every-minute", "rate(1 minute)");
    clock = T0 + 40_000; // 10:01:10, no tick since 10:00:30
    await meta.bus.setRuleState("default", "every-minute", "ENABLED");
    expect(await run()).toBe(1);
    expect((await events()).map((e) => e.time)).toEqual(["2026-03-02T10:01:00Z"]);
  });

  it("an hour without a scheduler fires once, at the latest missed time, then keeps the schedule", async () => {
    await rule("every-minute", "rate(1 minute)");
    await rule("every-5", "cron(0/5 * * * ? *)");
    expect(await tick(T0 + 2 * MINUTE)).toBe(2 + 0); // 10:01, 10:02; the cron's 10:05 not yet
    clock = T0 + 62 * MINUTE; // down from 10:02:30 to 11:02:30
    expect(await run()).toBe(2);
    expect(await run()).toBe(0);
    expect(await tick(T0 + 65 * MINUTE)).toBe(4); // 11:03, 11:04, 11:05 and the cron's 11:05
    const times = (await events()).map((e) => `${e.time} ${e.resources[0]!.split("/")[1]}`);
    expect(times.sort()).toEqual([
      "2026-03-02T10:01:00Z every-minute",
      "2026-03-02T10:02:00Z every-minute",
      "2026-03-02T11:00:00Z every-5",
      "2026-03-02T11:02:00Z every-minute",
      "2026-03-02T11:03:00Z every-minute",
      "2026-03-02T11:04:00Z every-minute",
      "2026-03-02T11:05:00Z every-5",
      "2026-03-02T11:05:00Z every-minute",
    ]);
  });

  it("a cron whose years are past never fires; a rule without a schedule is not the scheduler's", async () => {
    await rule("past", "cron(0 0 * * ? 2020)");
    await meta.bus.putRule({
      bus: "default",
      name: "pattern",
      eventPattern: '{"source":["x"]}',
      scheduleExpression: null,
      state: "ENABLED",
      description: null,
      roleArn: null,
      createdBy: ACCOUNT,
    });
    expect(await tick(T0 + 3 * MINUTE)).toBe(0);
    expect(await events()).toEqual([]);
  });
});

describe("latestFiring", () => {
  it("finds the latest firing at or before now over long outages", () => {
    const at = Date.parse;
    const anchor = at("2026-01-01T00:00:00Z");
    const cron = parseScheduleExpression("cron(0/5 3 ? * MON-FRI *)");
    expect(
      new Date(
        latestFiring(cron, at("2026-01-01T03:00:00Z"), at("2026-03-04T12:00:00Z"), anchor),
      ).toISOString(),
    ).toBe("2026-03-04T03:55:00.000Z");
    const january = parseScheduleExpression("cron(* * * 1 ? *)");
    expect(
      new Date(
        latestFiring(january, at("2026-01-01T00:01:00Z"), at("2026-12-30T00:00:00Z"), anchor),
      ).toISOString(),
    ).toBe("2026-01-31T23:59:00.000Z");
    const rate = parseScheduleExpression("rate(7 minutes)");
    expect(
      new Date(latestFiring(rate, anchor + 7 * MINUTE, anchor + 100 * MINUTE, anchor)).toISOString(),
    ).toBe(new Date(anchor + 98 * MINUTE).toISOString());
  });
});

describe("property: with ticks at most a minute apart, every firing fires once, in order", () => {
  it("on SQLite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drydock-schedule-"));
    try {
      let n = 0;
      let total = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            "rate(1 minute)",
            "rate(3 minutes)",
            "rate(1 hour)",
            "cron(0/7 * * * ? *)",
            "cron(5,6,7 * * * ? *)",
            "cron(* 10 ? * MON *)",
            "cron(0 0 L * ? *)",
          ),
          fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }),
          fc.array(fc.integer({ min: 1, max: 60_000 }), { minLength: 20, maxLength: 120 }),
          async (expression, start, gaps) => {
            let clock = start;
            const meta = await openSqliteMetaStore(join(dir, `p${n++}.sqlite`), () => clock);
            try {
              await meta.bus.putRule({
                bus: "default",
                name: "r",
                eventPattern: null,
                scheduleExpression: expression,
                state: "ENABLED",
                description: null,
                roleArn: null,
                createdBy: ACCOUNT,
              });
              for (const gap of gaps) {
                clock += gap;
                await runSchedules(meta, { region: REGION, accountId: ACCOUNT, now: clock });
              }
              const s = parseScheduleExpression(expression);
              const expected: string[] = [];
              for (
                let t = nextFireTime(s, start, start);
                t !== undefined && t <= clock;
                t = nextFireTime(s, t, start)
              )
                expected.push(new Date(t).toISOString().replace(".000Z", "Z"));
              const got = (await meta.events.read(0, 10_000)).map(
                (r) => (JSON.parse(r.json) as EventEnvelope).time,
              );
              expect(got).toEqual(expected);
              total += got.length;
            } finally {
              await meta.close();
            }
          },
        ),
        { numRuns: 25 },
      );
      expect(total).toBeGreaterThan(20);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
