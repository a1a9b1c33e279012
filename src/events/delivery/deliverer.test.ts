import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../config/schema.js";
import { silentLogger } from "../../core/logger.js";
import { metaDrivers, type DriverFixture } from "../../storage/meta/drivers-testing.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { overriding } from "../../storage/meta/testing.js";
import type { EventEnvelope } from "../envelope.js";
import { appendEvents, appendRuleEvent } from "../log.js";
import { Deliverer, type DeliveryOutcome } from "./deliverer.js";

/**
 * Routing and delivery on a real store (SQLite always, PostgreSQL when its test server is up), to
 * a real local HTTP receiver: deliveries are written with their event (or not at all), sent,
 * retried on the target's policy, dead-lettered, forwarded to another bus, and never sent twice
 * by two workers.
 */

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

interface Hit {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

let f: DriverFixture;
let meta: MetaStore;
const others: MetaStore[] = [];
let server: Server;
let port: number;
let hits: Hit[];
let answer: (h: Hit, n: number) => { status: number; headers?: Record<string, string> };
const workers: Deliverer[] = [];
const outcomes: DeliveryOutcome[] = [];

describe.each(metaDrivers("event delivery"))("routing and delivery (%s)", (driver, open) => {
  beforeEach(async () => {
    f = await open(Date.now);
    meta = f.store;
    hits = [];
    outcomes.length = 0;
    answer = () => ({ status: 200 });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const h = {
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          at: Date.now(),
        };
        hits.push(h);
        const a = answer(h, hits.length);
        res.writeHead(a.status, a.headers).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    for (const o of others.splice(0)) await o.close();
    await meta.close();
    await f.cleanup();
  });

  function worker(store: MetaStore = meta, events: Record<string, unknown> = {}): Deliverer {
    const config = configSchema.parse({
      events: { retryBaseMs: 40, maxBackoffSeconds: 1, pollIntervalMs: 10, ...events },
    });
    const w = new Deliverer(store, {
      events: config.events,
      aws: { region: REGION, accountId: ACCOUNT },
      userAgent: "test",
      log: silentLogger(),
      metrics: {
        outcome: (k, n) => outcomes.push(...Array<DeliveryOutcome>(n).fill(k)),
        latency: () => undefined,
      },
    });
    workers.push(w);
    void w.start();
    return w;
  }

  function event(
    source: string,
    detail: Record<string, unknown> = {},
    id = crypto.randomUUID(),
  ): EventEnvelope {
    return {
      version: "0",
      id,
      "detail-type": "Test",
      source,
      account: ACCOUNT,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: REGION,
      resources: [],
      detail,
    };
  }

  async function hook(name: string, target: Record<string, unknown> = {}, rule = name, bus = "default") {
    await meta.bus.putConnection({
      name,
      description: null,
      authorizationType: "API_KEY",
      authParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-key", ApiKeyValue: "k" } },
      state: "AUTHORIZED",
      stateReason: null,
      signingSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      previousSigningSecret: null,
      rotatedAt: null,
      lastAuthorizedAt: null,
    });
    await meta.bus.putApiDestination({
      name,
      description: null,
      connectionName: name,
      endpoint: `http://127.0.0.1:${port}/${name}`,
      httpMethod: "POST",
      invocationRateLimitPerSecond: 300,
      state: "ACTIVE",
    });
    await rulePattern(rule, { source: [name] }, bus);
    await meta.bus.putTargets(bus, rule, [
      { Id: "t", Arn: `arn:aws:events:${REGION}:${ACCOUNT}:api-destination/${name}/0000`, ...target },
    ]);
  }

  async function rulePattern(name: string, pattern: object, bus = "default") {
    await meta.bus.putRule({
      bus,
      name,
      eventPattern: JSON.stringify(pattern),
      scheduleExpression: null,
      state: "ENABLED",
      description: null,
      roleArn: null,
      createdBy: ACCOUNT,
    });
  }

  async function until<T>(
    what: string,
    f: () => T | undefined | Promise<T | undefined>,
    ms = 10_000,
  ): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  describe("routing in the event's transaction", () => {
    it("writes one delivery per matching target with the event, and none when the change rolls back", async () => {
      await hook("a");
      await hook("b");
      await expect(
        meta.tx(async (tx) => {
          await appendEvents(tx, [event("a")]);
          throw new Error("the change fails");
        }),
      ).rejects.toThrow("the change fails");
      expect(await meta.deliveries.pending()).toBe(0);
      expect(await meta.events.lastSeq()).toBe(0);
      await meta.tx((tx) => appendEvents(tx, [event("a"), event("b"), event("c"), event("a")]));
      expect(await meta.deliveries.pending()).toBe(3);
      expect(await meta.deliveries.pending({ rule: "a" })).toBe(2);
    });

    it("a disabled rule and a rule without targets take nothing; a rule change is seen at once", async () => {
      await hook("a");
      await meta.bus.setRuleState("default", "a", "DISABLED");
      await rulePattern("lonely", { source: ["a"] });
      await appendEvents(meta, [event("a")]);
      expect(await meta.deliveries.pending()).toBe(0);
      await meta.bus.setRuleState("default", "a", "ENABLED");
      await appendEvents(meta, [event("a")]);
      expect(await meta.deliveries.pending()).toBe(1);
    });

    it("archives keep the events their pattern matches (all without one)", async () => {
      const archive = (name: string, eventPattern: string | null) =>
        meta.bus.putArchive({
          name,
          bus: "default",
          description: null,
          eventPattern,
          retentionDays: 0,
          state: "ENABLED",
        });
      await archive("everything", null);
      await archive("only-a", JSON.stringify({ source: ["a"] }));
      await appendEvents(meta, [event("a"), event("b")]);
      expect((await meta.bus.archiveStats("everything")).eventCount).toBe(2);
      expect((await meta.bus.archiveStats("only-a")).eventCount).toBe(1);
    });
  });

  describe("delivery", () => {
    it("delivers to the API destination, with the connection's key and a signature, and removes the delivery", async () => {
      await hook("a");
      worker();
      await appendEvents(meta, [event("a", { n: 1 })]);
      await until("the delivery", () => (hits.length ? true : undefined));
      expect(hits[0]!.url).toBe("/a");
      expect(hits[0]!.headers["x-key"]).toBe("k");
      expect(hits[0]!.headers["webhook-signature"]).toMatch(/^v1,/);
      expect((JSON.parse(hits[0]!.body) as EventEnvelope).detail).toEqual({ n: 1 });
      await until("recorded", async () => ((await meta.deliveries.pending()) === 0 ? true : undefined));
      expect(outcomes).toEqual(["delivered"]);
    });

    it("retries a 503 with backoff and honours a 429's Retry-After", async () => {
      await hook("a");
      answer = (_h, n) =>
        n === 1
          ? { status: 503 }
          : n === 2
            ? { status: 429, headers: { "retry-after": "1" } }
            : { status: 200 };
      worker();
      await appendEvents(meta, [event("a")]);
      await until("three attempts", () => (hits.length >= 3 ? true : undefined));
      const [a, b, c] = hits;
      expect(b!.at - a!.at).toBeGreaterThanOrEqual(15); // retry 1: [20, 40] ms
      expect(c!.at - b!.at).toBeGreaterThanOrEqual(980); // Retry-After: 1 s
      await until("recorded", async () => ((await meta.deliveries.pending()) === 0 ? true : undefined));
      expect(outcomes).toEqual(["retried", "retried", "delivered"]);
      expect(new Set(hits.map((h) => h.headers["webhook-id"])).size).toBe(1);
    });

    it("dead-letters a non-retryable answer at once, into the DeadLetterConfig's store", async () => {
      await hook("a", { DeadLetterConfig: { Arn: `arn:drydock:dlq:${REGION}:${ACCOUNT}:mine` } });
      answer = () => ({ status: 400 });
      worker();
      await appendEvents(meta, [event("a")]);
      const [letter] = await until("the dead letter", async () => {
        const l = await meta.deliveries.deadLetters({ limit: 10 });
        return l.length ? l : undefined;
      });
      expect(hits).toHaveLength(1);
      expect(letter).toMatchObject({ queue: "mine", rule: "a", targetId: "t", attempts: 1 });
      expect(await meta.deliveries.pending()).toBe(0);
    });

    it("gives up after MaximumRetryAttempts into the default store; redrive delivers", async () => {
      await hook("a", { RetryPolicy: { MaximumRetryAttempts: 1 } });
      answer = () => ({ status: 500 });
      worker();
      await appendEvents(meta, [event("a")]);
      const [letter] = await until("the dead letter", async () => {
        const l = await meta.deliveries.deadLetters({ limit: 10 });
        return l.length ? l : undefined;
      });
      expect(hits).toHaveLength(2);
      expect(letter).toMatchObject({ queue: "default", attempts: 2 });
      answer = () => ({ status: 200 });
      expect(await meta.deliveries.redrive({ rule: "a" })).toBe(1);
      await until("the redriven delivery", () => (hits.length === 3 ? true : undefined));
      expect(await meta.deliveries.countDeadLetters()).toBe(0);
    });

    it("an event-bus target puts the event on that bus (one hop: it is not forwarded again)", async () => {
      await meta.bus.createBus({ name: "other", description: null });
      await hook("fwd", {}, "on-other", "other");
      await rulePattern("to-other", { source: ["fwd"] });
      await meta.bus.putTargets("default", "to-other", [
        { Id: "bus", Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/other` },
      ]);
      // A loop back to default: not followed for a forwarded event.
      await rulePattern("back", { source: ["fwd"] }, "other");
      await meta.bus.putTargets("other", "back", [
        { Id: "bus", Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` },
      ]);
      worker();
      const e = event("fwd");
      await appendEvents(meta, [e]);
      await until("the forwarded delivery", () => (hits.length ? true : undefined));
      expect(hits[0]!.url).toBe("/fwd");
      expect((JSON.parse(hits[0]!.body) as EventEnvelope).id).toBe(e.id);
      await until("nothing pending", async () =>
        (await meta.deliveries.pending()) === 0 ? true : undefined,
      );
      expect((await meta.events.read(0, 10)).map((r) => r.bus)).toEqual(["default", "other"]);
    });

    it("a rule's own event goes to that rule's targets only", async () => {
      await hook("a");
      await hook("b");
      await appendRuleEvent(meta, "default", "b", event("a"));
      expect(await meta.deliveries.pending({ rule: "b" })).toBe(1);
      expect(await meta.deliveries.pending({ rule: "a" })).toBe(0);
    });

    it("an idle worker wakes for deliveries another process queues, and for a retry when due, not by polling", async () => {
      // The worker is on another connection (another node), its poll a minute: only the
      // commit's signal can wake it for the delivery, and only its due timer for the retry.
      await hook("a");
      answer = (_h, n) => (n === 1 ? { status: 503 } : { status: 200 });
      const other = await f.another();
      others.push(other);
      worker(other, { pollIntervalMs: 60_000 });
      await until("the worker idle", async () =>
        (await other.deliveries.nextDue()) === null ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      await appendEvents(meta, [event("a")]);
      await until("the first attempt", () => (hits.length >= 1 ? true : undefined), 5_000);
      await until("the retry", () => (hits.length >= 2 ? true : undefined), 5_000);
      expect(hits[0]!.at - t0).toBeLessThan(2_000);
      expect(hits[1]!.at - hits[0]!.at).toBeLessThan(2_000); // retry 1: [20, 40] ms
      await until("recorded", async () => ((await meta.deliveries.pending()) === 0 ? true : undefined));
      expect(outcomes).toEqual(["retried", "delivered"]);
    });

    it("claims again at once when a delivery fell due between an empty claim and the due-time read", async () => {
      // The store as it is, except that the first read of the next due time says "due a moment
      // ago": a retry that fell due just after the claim found nothing. The poll is a minute.
      let claims = 0;
      let armed = false;
      let raced = false;
      let claimsBefore = 0;
      const real = meta.deliveries;
      const deliveries = overriding(real, {
        claim: (...a) => {
          claims++;
          return real.claim(...a);
        },
        nextDue: () => {
          if (!armed || raced) return real.nextDue();
          raced = true;
          claimsBefore = claims;
          return Promise.resolve(Date.now() - 1);
        },
      });
      const store = overriding(meta, { deliveries });
      const w = worker(store, { pollIntervalMs: 60_000 });
      // Once it is idle (and PostgreSQL's listener has connected and woken it once), a claim.
      await new Promise((r) => setTimeout(r, 300));
      armed = true;
      w.wake();
      await until("the empty claim and the raced read", () => (raced ? true : undefined));
      await until("another claim", () => (claims > claimsBefore ? true : undefined), 1_000);
    });

    it("two workers deliver 300 events once each", async () => {
      // PostgreSQL: the second on its own connections, as another node. SQLite: both on one store
      // (better-sqlite3 blocks its thread on a busy file, so a second connection in this process
      // would stall; the DeliveryStore suite covers two connections).
      await hook("a");
      worker();
      if (driver === "postgres") {
        const other = await f.another();
        others.push(other);
        worker(other);
      } else worker();
      await meta.tx((tx) =>
        appendEvents(
          tx,
          Array.from({ length: 300 }, (_, i) => event("a", { i })),
        ),
      );
      await until("300 deliveries", () => (hits.length >= 300 ? true : undefined), 20_000);
      await until("recorded", async () => ((await meta.deliveries.pending()) === 0 ? true : undefined));
      const ids = hits.map((h) => (JSON.parse(h.body) as EventEnvelope).id);
      expect(new Set(ids).size).toBe(300);
      expect(ids).toHaveLength(300);
    });
  });
});
