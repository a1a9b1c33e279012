import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBusService } from "../../events/bus-service.js";
import { ACCOUNT, REGION } from "../../findings/suppression-testing.js";
import { silentLogger } from "../../core/logger.js";
import type {
  DeadLetterView,
  DeliveryView,
  EventRuleView,
  EventsPage,
  EventTargetView,
} from "./contract/events.js";
import { openConsoleWorld, type ConsoleWorld, type TestSession } from "./testing.js";

/**
 * The console's events views over the real bus and delivery stores (SQLite; no deliverer runs,
 * so what is queued stays): rules and targets with their pending and dead-letter counts,
 * deliveries with their state, dead letters newest first, redrive of one letter through the
 * store's redrive (back to a delivery, due now, fresh attempts), rule state changes; rules
 * readable by all, the rest admin only, CSRF on changes, 400s that change nothing.
 */

let w: ConsoleWorld;
let admin: TestSession;
let dev: TestSession;

async function call(
  method: "GET" | "POST",
  path: string,
  o: { as?: TestSession; body?: unknown; csrf?: boolean } = {},
): Promise<{ status: number; json: unknown }> {
  const res = await w.call(method, path, { as: admin, ...o });
  return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as unknown) : undefined };
}

const letterIds: number[] = [];

beforeAll(async () => {
  w = await openConsoleWorld({
    start: false,
    users: [
      { username: "admin", access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }] },
      { username: "dev", access: [{ repository: "**", actions: ["pull", "push"] }] },
    ],
  });
  admin = await w.signIn("admin");
  dev = await w.signIn("dev");
  const bus = new EventBusService(w.meta, {
    identity: { accountId: ACCOUNT, region: REGION },
    log: silentLogger(),
  });
  await bus.createEventBus({ name: "audit" });
  await bus.putRule({ name: "scans", eventPattern: JSON.stringify({ source: ["aws.ecr"] }) });
  await bus.putRule({ name: "quiet", eventPattern: JSON.stringify({ source: ["nothing"] }) });
  expect(
    await bus.putTargets("scans", undefined, [
      {
        Id: "to-audit",
        Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/audit`,
        RetryPolicy: { MaximumRetryAttempts: 2 },
      },
    ]),
  ).toEqual([]);
  // Five deliveries of logged events: two claimed (one then failed: retrying), three waiting.
  const seqs: number[] = [];
  for (let i = 1; i <= 5; i++)
    seqs.push(
      await w.meta.events.append({
        id: `event-${i}`,
        time: 1_000 + i,
        source: "aws.ecr",
        detailType: "ECR Image Action",
        json: JSON.stringify({
          id: `event-${i}`,
          source: "aws.ecr",
          "detail-type": "ECR Image Action",
          detail: {},
        }),
      }),
    );
  await w.meta.deliveries.enqueue(
    seqs.map((eventSeq) => ({
      bus: "default",
      rule: "scans",
      targetId: "to-audit",
      eventSeq,
      eventJson: null,
      eventTime: 1_000,
    })),
  );
  const claimed = await w.meta.deliveries.claim(4, 60_000);
  // Two become dead letters, one is rescheduled with its error, one stays leased (being sent).
  await w.meta.deliveries.deadLetter(
    claimed.slice(0, 2).map((d) => ({
      id: d.id,
      letter: {
        queue: "default",
        bus: d.bus,
        rule: d.rule,
        targetId: d.targetId,
        targetArn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/audit`,
        eventSeq: d.eventSeq,
        eventJson: JSON.stringify({ id: `event-${d.eventSeq}`, "detail-type": "ECR Image Action" }),
        eventTime: d.eventTime,
        attempts: 3,
        errorCode: "RETRIES_EXHAUSTED",
        errorMessage: "HTTP 500 from the target",
      },
    })),
    claimed[0]!.leaseToken!,
  );
  await w.meta.deliveries.reschedule(
    [{ id: claimed[2]!.id, runAfter: w.clock.now + 5_000, error: "HTTP 503" }],
    claimed[0]!.leaseToken!,
  );
  letterIds.push(...(await w.meta.deliveries.deadLetters({ limit: 10 })).map((l) => l.id));
});
afterAll(async () => {
  await w.close();
});

describe("events in the console", () => {
  it("lists rules with their targets, pending deliveries and dead letters", async () => {
    const r = await call("GET", "/events/rules");
    expect(r.status).toBe(200);
    const page = r.json as EventsPage<EventRuleView>;
    expect(page.total).toBe(2);
    expect(page.items.map((x) => [x.name, x.state, x.targets, x.pending, x.deadLetters])).toEqual([
      ["quiet", "ENABLED", 0, 0, 0],
      ["scans", "ENABLED", 1, 3, 2],
    ]);
    expect(page.items[1]!.arn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/scans`);
    expect(
      ((await call("GET", "/events/rules?q=sca&limit=1")).json as EventsPage<EventRuleView>).items,
    ).toHaveLength(1);
    expect(((await call("GET", "/events/rules?bus=audit")).json as EventsPage<EventRuleView>).total).toBe(0);
    expect((await call("GET", "/events/buses")).json).toEqual({ items: ["default", "audit"] });
  });

  it("lists targets with their settings and counts", async () => {
    const page = (await call("GET", "/events/targets")).json as EventsPage<EventTargetView>;
    expect(page.items).toEqual([
      {
        bus: "default",
        rule: "scans",
        id: "to-audit",
        arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/audit`,
        settings: { RetryPolicy: { MaximumRetryAttempts: 2 } },
        pending: 3,
        deadLetters: 2,
      },
    ]);
  });

  it("lists deliveries with their state, attempts and last error", async () => {
    const page = (await call("GET", "/events/deliveries?rule=scans")).json as EventsPage<DeliveryView>;
    expect(page.total).toBe(3);
    expect(page.items.map((d) => [d.eventId, d.status, d.attempts, d.lastError])).toEqual([
      ["event-3", "RETRYING", 1, "HTTP 503"],
      ["event-4", "SENDING", 1, null],
      ["event-5", "PENDING", 0, null],
    ]);
    expect(page.items[0]!.detailType).toBe("ECR Image Action");
  });

  it("lists dead letters newest first, with the event", async () => {
    const page = (await call("GET", "/events/dead-letters")).json as EventsPage<DeadLetterView>;
    expect(page.total).toBe(2);
    expect(page.items.map((l) => [l.eventId, l.errorCode, l.attempts])).toEqual([
      ["event-2", "RETRIES_EXHAUSTED", 3],
      ["event-1", "RETRIES_EXHAUSTED", 3],
    ]);
    expect(page.items[0]!.event).toEqual({ id: "event-2", "detail-type": "ECR Image Action" });
  });

  it.each([
    ["nothing named (a redrive of everything must be asked for by name)", {}],
    ["an empty id list", { ids: [] }],
    ["ids that are not numbers", { ids: ["1"] }],
    ["an unknown member", { ids: [1], all: true }],
    ["a bad rule name", { rule: "a rule" }],
  ])("refuses a redrive of %s with a 400; nothing moves", async (_what, body) => {
    const r = await call("POST", "/events/dead-letters/redrive", { body });
    expect(r.status).toBe(400);
    expect(await w.meta.deliveries.countDeadLetters()).toBe(2);
  });

  it("shows non-admins the rules (as ListRules), not targets, deliveries or dead letters (403); no redrive without CSRF", async () => {
    expect((await call("GET", "/events/rules", { as: dev })).json).toMatchObject({ total: 2 });
    expect((await call("GET", "/events/buses", { as: dev })).status).toBe(200);
    for (const path of ["/events/targets", "/events/deliveries", "/events/dead-letters"])
      expect((await call("GET", path, { as: dev })).status).toBe(403);
    expect(
      (await call("POST", "/events/dead-letters/redrive", { as: dev, body: { ids: letterIds } })).status,
    ).toBe(403);
    expect(
      (await call("POST", "/events/dead-letters/redrive", { body: { ids: letterIds }, csrf: false })).status,
    ).toBe(403);
    expect(await w.meta.deliveries.countDeadLetters()).toBe(2);
  });

  it("redrives one letter: a delivery again, due now with fresh attempts", async () => {
    const r = await call("POST", "/events/dead-letters/redrive", { body: { ids: [letterIds[0]] } });
    expect(r.json).toEqual({ redriven: 1 });
    const letters = (await call("GET", "/events/dead-letters")).json as EventsPage<DeadLetterView>;
    expect(letters.items.map((l) => l.eventId)).toEqual(["event-2"]);
    const deliveries = (await call("GET", "/events/deliveries")).json as EventsPage<DeliveryView>;
    expect(deliveries.total).toBe(4);
    expect(deliveries.items.at(-1)).toMatchObject({
      eventId: "event-1",
      status: "PENDING",
      attempts: 0,
      nextAttemptAt: w.clock.now,
    });
    // Again: it is gone from the store, nothing more moves.
    expect(
      (await call("POST", "/events/dead-letters/redrive", { body: { ids: [letterIds[0]] } })).json,
    ).toEqual({ redriven: 0 });
  });

  it("disables and enables a rule (admin)", async () => {
    expect(
      (await call("POST", "/events/rules/scans/state", { as: dev, body: { state: "DISABLED" } })).status,
    ).toBe(403);
    expect((await call("POST", "/events/rules/scans/state", { body: { state: "OFF" } })).status).toBe(400);
    expect((await call("POST", "/events/rules/nope/state", { body: { state: "DISABLED" } })).status).toBe(
      404,
    );
    expect((await call("POST", "/events/rules/scans/state", { body: { state: "DISABLED" } })).status).toBe(
      200,
    );
    expect((await w.meta.bus.getRule("default", "scans"))?.state).toBe("DISABLED");
    expect((await call("POST", "/events/rules/scans/state", { body: { state: "ENABLED" } })).status).toBe(
      200,
    );
    expect((await w.meta.bus.getRule("default", "scans"))?.state).toBe("ENABLED");
  });

  it.each([
    "/events/rules?bus=no%20such%20bus!",
    "/events/rules?limit=0",
    "/events/rules?sort=age",
    "/events/deliveries?offset=-1",
    "/events/dead-letters?rule=a%20b",
    "/events/targets?limit=101",
  ])("GET %s is a 400", async (path) => {
    const r = await call("GET", path);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: "BadParameter" } });
  });
});
