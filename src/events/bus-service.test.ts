import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../core/logger.js";
import { metaDrivers, type DriverFixture } from "../storage/meta/drivers-testing.js";
import type { MetaStore } from "../storage/meta/store.js";
import { apiDestinationArn, busArn, connectionArn, ruleArn } from "./bus-arns.js";
import { BusError, entrySize, EventBusService, MAX_PUT_EVENTS_BYTES } from "./bus-service.js";
import { readEvents } from "./log.js";

const identity = { accountId: "123456789012", region: "eu-west-1" };
const pattern = JSON.stringify({ source: ["my.app"], "detail-type": ["Order Placed"] });

describe.each(metaDrivers("EventBusService"))("EventBusService (%s)", (_driver, open) => {
  let fixture: DriverFixture;
  let meta: MetaStore;
  let bus: EventBusService;
  let warnings: string[];

  beforeEach(async () => {
    fixture = await open(Date.now);
    meta = fixture.store;
    warnings = [];
    const log = createLogger("silent");
    log.warn = ((_o: unknown, msg: string) => void warnings.push(msg)) as typeof log.warn;
    bus = new EventBusService(meta, { identity, log, commands: () => ["notify"] });
  });
  afterEach(async () => {
    await meta.close();
    await fixture.cleanup();
  });

  /** Runs `p` and returns the BusError it failed with. */
  async function refused(p: Promise<unknown> | (() => unknown)): Promise<BusError> {
    try {
      await (typeof p === "function" ? p() : p);
    } catch (e) {
      if (e instanceof BusError) return e;
      throw e;
    }
    throw new Error("expected a BusError");
  }

  async function destination(name = "hook"): Promise<string> {
    const c = await bus.createConnection({
      name: `${name}-conn`,
      authorizationType: "API_KEY",
      authParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "s3cret" } },
    });
    const d = await bus.createApiDestination({
      name,
      connectionArn: c.arn,
      invocationEndpoint: "https://hooks.example.com/in",
      httpMethod: "POST",
    });
    return d.arn;
  }

  describe("rules", () => {
    it("PutRule upserts (keeping CreatedBy), DescribeRule and ListRules show it, DeleteRule removes it", async () => {
      const { arn } = await bus.putRule({ name: "orders", eventPattern: pattern, description: "first" });
      expect(arn).toBe("arn:aws:events:eu-west-1:123456789012:rule/orders");
      await bus.putRule({ name: "orders", eventPattern: pattern, state: "DISABLED" });
      const r = await bus.describeRule("orders");
      expect(r).toMatchObject({
        name: "orders",
        bus: "default",
        state: "DISABLED",
        description: null,
        createdBy: "123456789012",
      });
      expect(r.eventPattern).toBe(pattern);
      await bus.putRule({ name: "other", eventPattern: pattern });
      expect((await bus.listRules({ namePrefix: "ord" })).items.map((x) => x.name)).toEqual(["orders"]);
      await bus.deleteRule("orders");
      expect((await refused(bus.describeRule("orders"))).message).toBe(
        "Rule orders does not exist on EventBus default.",
      );
      await bus.deleteRule("never-existed"); // as AWS: no error
    });

    it("a rule of a named bus has the bus in its ARN; an unknown bus is ResourceNotFoundException", async () => {
      await bus.createEventBus({ name: "team" });
      expect((await bus.putRule({ name: "r", bus: "team", eventPattern: pattern })).arn).toBe(
        ruleArn(identity, "team", "r"),
      );
      expect((await bus.describeRule("r", busArn(identity, "team"))).bus).toBe("team");
      const e = await refused(bus.putRule({ name: "r", bus: "nope", eventPattern: pattern }));
      expect([e.code, e.message]).toEqual(["ResourceNotFoundException", "Event bus nope does not exist."]);
      expect((await refused(bus.describeRule("x", "team"))).message).toBe(
        "Rule x does not exist on EventBus team.",
      );
    });

    it("refuses a bad pattern with AWS's reason and stores nothing", async () => {
      const e = await refused(bus.putRule({ name: "bad", eventPattern: '{"source":"my.app"}' }));
      expect(e.code).toBe("InvalidEventPatternException");
      expect(e.message).toMatch(
        /^Event pattern is not valid\. Reason: "source" must be an object or an array/,
      );
      expect((await bus.listRules({})).items).toEqual([]);
    });

    it("needs a pattern or a schedule; schedules are validated and only on the default bus", async () => {
      expect((await refused(bus.putRule({ name: "x" }))).message).toBe(
        "Parameter(s) EventPattern or ScheduleExpression must be specified.",
      );
      const bad = await refused(bus.putRule({ name: "x", scheduleExpression: "rate(0 minutes)" }));
      expect(bad.code).toBe("ValidationException");
      await bus.createEventBus({ name: "team" });
      expect(
        (await refused(bus.putRule({ name: "x", bus: "team", scheduleExpression: "rate(5 minutes)" })))
          .message,
      ).toBe("ScheduleExpression is supported only on the default event bus.");
      await bus.putRule({ name: "weekly", scheduleExpression: "cron(0 8 ? * MON *)" });
      expect((await bus.describeRule("weekly")).scheduleExpression).toBe("cron(0 8 ? * MON *)");
      expect((await bus.listRules({})).items.map((r) => r.name)).toEqual(["weekly"]);
    });

    it("EnableRule / DisableRule; unknown rule is ResourceNotFoundException", async () => {
      await bus.putRule({ name: "r", eventPattern: pattern });
      await bus.setRuleState("r", undefined, "DISABLED");
      expect((await bus.describeRule("r")).state).toBe("DISABLED");
      await bus.setRuleState("r", undefined, "ENABLED");
      expect((await bus.describeRule("r")).state).toBe("ENABLED");
      expect((await refused(bus.setRuleState("q", undefined, "ENABLED"))).code).toBe(
        "ResourceNotFoundException",
      );
    });

    it("ListRules pages with a token and refuses a forged one", async () => {
      for (let i = 0; i < 5; i++) await bus.putRule({ name: `r${i}`, eventPattern: pattern });
      const first = await bus.listRules({ limit: 2 });
      expect(first.items.map((r) => r.name)).toEqual(["r0", "r1"]);
      const second = await bus.listRules({ limit: 2, nextToken: first.nextToken });
      expect(second.items.map((r) => r.name)).toEqual(["r2", "r3"]);
      const third = await bus.listRules({ limit: 2, nextToken: second.nextToken });
      expect(third.items.map((r) => r.name)).toEqual(["r4"]);
      expect(third.nextToken).toBeUndefined();
      expect((await refused(bus.listRules({ nextToken: "garbage" }))).code).toBe("ValidationException");
    });
  });

  describe("targets", () => {
    it("PutTargets stores, overwrites by Id, lists; DeleteRule is refused while targets remain, Force removes them", async () => {
      const dest = await destination();
      await bus.putRule({ name: "r", eventPattern: pattern });
      expect(await bus.putTargets("r", undefined, [{ Id: "t1", Arn: dest }])).toEqual([]);
      expect(
        await bus.putTargets("r", undefined, [
          { Id: "t1", Arn: dest, InputPath: "$.x" },
          { Id: "t1", Arn: dest, InputPath: "$.detail" },
        ]),
      ).toEqual([]);
      expect((await bus.listTargetsByRule("r", undefined, {})).items).toEqual([
        { Id: "t1", Arn: dest, InputPath: "$.detail" },
      ]);
      const e = await refused(bus.deleteRule("r"));
      expect([e.code, e.message]).toEqual([
        "ValidationException",
        "Rule can't be deleted since it has targets.",
      ]);
      expect((await bus.listRuleNamesByTarget(dest, undefined, {})).items).toEqual(["r"]);
      await bus.deleteRule("r", undefined, true);
      expect((await refused(bus.describeRule("r"))).code).toBe("ResourceNotFoundException");
    });

    it("a rule has at most 5 targets (LimitExceededException, nothing stored)", async () => {
      const dest = await destination();
      await bus.putRule({ name: "r", eventPattern: pattern });
      await bus.putTargets(
        "r",
        undefined,
        [1, 2, 3, 4].map((i) => ({ Id: `t${i}`, Arn: dest })),
      );
      const e = await refused(
        bus.putTargets("r", undefined, [
          { Id: "t5", Arn: dest },
          { Id: "t6", Arn: dest },
        ]),
      );
      expect([e.code, e.message]).toEqual([
        "LimitExceededException",
        "The requested resource exceeds the maximum number allowed.",
      ]);
      expect((await bus.listTargetsByRule("r", undefined, {})).items).toHaveLength(4);
      // Overwriting existing ids does not count twice.
      await bus.putTargets(
        "r",
        undefined,
        [1, 2, 3, 4, 5].map((i) => ({ Id: `t${i}`, Arn: dest })),
      );
      expect((await bus.listTargetsByRule("r", undefined, {})).items).toHaveLength(5);
    });

    it("refuses malformed ARNs, dead-letter ARNs and inputs; missing resources are failed entries", async () => {
      const dest = await destination();
      await bus.putRule({ name: "r", eventPattern: pattern });
      const lambda = await refused(
        bus.putTargets("r", undefined, [
          { Id: "a", Arn: "arn:aws:lambda:eu-west-1:123456789012:function:f" },
        ]),
      );
      expect([lambda.code, lambda.message]).toEqual([
        "ValidationException",
        "Parameter arn:aws:lambda:eu-west-1:123456789012:function:f is not valid. Reason: target a: Drydock delivers to API destinations, event buses and command targets (arn:drydock:command:REGION:ACCOUNT:NAME), not to lambda.",
      ]);
      expect((await refused(bus.putTargets("r", undefined, [{ Id: "a", Arn: "notarn" }]))).message).toBe(
        "Parameter notarn is not valid. Reason: Provided Arn is not in correct format.",
      );
      expect(
        (
          await refused(
            bus.putTargets("r", undefined, [{ Id: "a", Arn: dest, DeadLetterConfig: { Arn: "nope" } }]),
          )
        ).code,
      ).toBe("ValidationException");
      const input = await refused(
        bus.putTargets("r", undefined, [{ Id: "a", Arn: dest, Input: "{not json" }]),
      );
      expect(input.message).toBe("Input for target a is not a valid JSON text.");
      expect((await bus.listTargetsByRule("r", undefined, {})).items).toEqual([]);

      const failed = await bus.putTargets("r", undefined, [
        { Id: "ok", Arn: dest, DeadLetterConfig: { Arn: "arn:aws:sqs:eu-west-1:123456789012:dlq" } },
        { Id: "gone", Arn: "arn:aws:events:eu-west-1:123456789012:api-destination/missing/abc" },
        { Id: "cmd", Arn: "arn:drydock:command:eu-west-1:123456789012:notify" },
        { Id: "nocmd", Arn: "arn:drydock:command:eu-west-1:123456789012:unset" },
        { Id: "elsewhere", Arn: "arn:aws:events:us-east-1:123456789012:event-bus/default" },
      ]);
      expect(failed.map((f) => f.TargetId)).toEqual(["gone", "nocmd", "elsewhere"]);
      expect((await bus.listTargetsByRule("r", undefined, {})).items.map((t) => t.Id).sort()).toEqual([
        "cmd",
        "ok",
      ]);
    });

    it("RemoveTargets removes the targets and their pending deliveries", async () => {
      const dest = await destination();
      await bus.putRule({ name: "r", eventPattern: pattern });
      await bus.putTargets("r", undefined, [
        { Id: "a", Arn: dest },
        { Id: "b", Arn: dest },
      ]);
      await meta.deliveries.enqueue([
        { bus: "default", rule: "r", targetId: "a", eventSeq: 1, eventJson: null, eventTime: Date.now() },
        { bus: "default", rule: "r", targetId: "b", eventSeq: 1, eventJson: null, eventTime: Date.now() },
      ]);
      expect(await bus.removeTargets("r", undefined, ["a", "zzz"])).toEqual([]);
      expect((await bus.listTargetsByRule("r", undefined, {})).items.map((t) => t.Id)).toEqual(["b"]);
      expect(await meta.deliveries.pending({ targetId: "a" })).toBe(0);
      expect(await meta.deliveries.pending({ targetId: "b" })).toBe(1);
      expect((await refused(bus.removeTargets("nope", undefined, ["a"]))).code).toBe(
        "ResourceNotFoundException",
      );
    });
  });

  describe("TestEventPattern", () => {
    const event = {
      id: "1",
      account: "123456789012",
      source: "my.app",
      time: "2026-01-01T00:00:00Z",
      region: "eu-west-1",
      "detail-type": "Order Placed",
      detail: {},
    };
    it("matches, does not match, and refuses bad patterns and events as AWS", async () => {
      expect(bus.testEventPattern(pattern, JSON.stringify(event))).toBe(true);
      expect(bus.testEventPattern(pattern, JSON.stringify({ ...event, source: "other" }))).toBe(false);
      expect((await refused(() => bus.testEventPattern("[]", JSON.stringify(event)))).code).toBe(
        "InvalidEventPatternException",
      );
      const { id: _id, ...noId } = event;
      const e = await refused(() => bus.testEventPattern(pattern, JSON.stringify(noId)));
      expect([e.code, e.message]).toEqual(["ValidationException", "Parameter Event is not valid."]);
      expect((await refused(() => bus.testEventPattern(pattern, "{"))).message).toBe(
        "Parameter Event is not valid.",
      );
    });
  });

  describe("PutEvents", () => {
    const entry = { Source: "my.app", DetailType: "Order Placed", Detail: '{"id":1}' };
    it("appends valid entries in one step and answers per entry in input order, with AWS's errors", async () => {
      const results = await bus.putEvents([
        entry,
        { ...entry, Source: undefined },
        { ...entry, DetailType: undefined },
        { ...entry, Detail: undefined },
        { ...entry, Detail: '"a string"' },
        { ...entry, Detail: "[1]" },
        { ...entry, Detail: "{bad" },
        { ...entry, Source: "aws.ecr" },
        { ...entry, Time: 1_700_000_000, Resources: ["arn:x"] },
        { ...entry, Time: 1e20 },
      ]);
      expect(results[9]).toEqual({
        ErrorCode: "InvalidArgument",
        ErrorMessage: "Parameter Time is not valid. Reason: it must be between 1970 and 9999.",
      });
      expect(results[0]).toHaveProperty("EventId");
      expect(results.slice(1, 8)).toEqual([
        {
          ErrorCode: "InvalidArgument",
          ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument.",
        },
        {
          ErrorCode: "InvalidArgument",
          ErrorMessage: "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
        },
        {
          ErrorCode: "InvalidArgument",
          ErrorMessage: "Parameter Detail is not valid. Reason: Detail is a required argument.",
        },
        { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." },
        { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." },
        { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." },
        { ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source." },
      ]);
      const logged = await readEvents(meta, 0);
      expect(logged.map((l) => l.event.id)).toEqual([
        (results[0] as { EventId: string }).EventId,
        (results[8] as { EventId: string }).EventId,
      ]);
      expect(logged[1]!.event).toMatchObject({
        version: "0",
        source: "my.app",
        "detail-type": "Order Placed",
        account: "123456789012",
        region: "eu-west-1",
        time: "2023-11-14T22:13:20Z",
        resources: ["arn:x"],
        detail: { id: 1 },
      });
    });

    it("any entries (property): one result per entry in order, an EventId or an error, and exactly the accepted ones logged", async () => {
      const text = fc.oneof(fc.constant(undefined), fc.constant(""), fc.string({ maxLength: 20 }));
      const detail = fc.oneof(
        text,
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
        fc
          .dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }))
          .map((v) => JSON.stringify(v)),
      );
      const entry = fc.record(
        {
          Source: text,
          DetailType: text,
          Detail: detail,
          Resources: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
          Time: fc.oneof(fc.double(), fc.integer({ min: 0, max: 2_000_000_000 })),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 10 }), async (entries) => {
          const before = await meta.events.lastSeq();
          const results = await bus.putEvents(entries);
          expect(results).toHaveLength(entries.length);
          const ids = results.flatMap((r) => ("EventId" in r ? [r.EventId] : []));
          for (const r of results) expect("EventId" in r !== "ErrorCode" in r).toBe(true);
          const logged = await readEvents(meta, before);
          expect(logged.map((l) => l.event.id)).toEqual(ids);
          for (const l of logged)
            expect(typeof l.event.detail === "object" && !Array.isArray(l.event.detail)).toBe(true);
        }),
        { numRuns: 25 },
      );
    });

    it("an entry for a bus that does not exist gets an EventId and is not stored (as AWS)", async () => {
      const r = await bus.putEvents([{ ...entry, EventBusName: "nope" }]);
      expect(r[0]).toHaveProperty("EventId");
      expect(await readEvents(meta, 0)).toEqual([]);
    });

    it("refuses more than 256 KB in total, computed as AWS does", async () => {
      expect(entrySize({ Time: 1, Source: "ab", DetailType: "é", Detail: "{}", Resources: ["r"] })).toBe(
        14 + 2 + 2 + 2 + 1,
      );
      const big = "x".repeat(MAX_PUT_EVENTS_BYTES);
      const e = await refused(bus.putEvents([{ ...entry, Detail: JSON.stringify({ big }) }]));
      expect([e.code, e.message]).toEqual([
        "ValidationException",
        "Total size of the entries in the request is over the limit.",
      ]);
      expect(await readEvents(meta, 0)).toEqual([]);
    });
  });

  describe("buses", () => {
    it("create, describe, list (default first), delete; AWS's refusals", async () => {
      expect((await bus.createEventBus({ name: "team", description: "d" })).arn).toBe(
        busArn(identity, "team"),
      );
      expect((await refused(bus.createEventBus({ name: "team" }))).message).toBe(
        "Event bus team already exists.",
      );
      expect((await bus.describeEventBus("team")).description).toBe("d");
      expect((await bus.describeEventBus(undefined)).name).toBe("default");
      expect((await bus.listEventBuses({})).items.map((b) => b.name)).toEqual(["default", "team"]);
      expect((await bus.listEventBuses({ namePrefix: "te" })).items.map((b) => b.name)).toEqual(["team"]);
      const p1 = await bus.listEventBuses({ limit: 1 });
      expect(p1.items.map((b) => b.name)).toEqual(["default"]);
      const p2 = await bus.listEventBuses({ limit: 1, nextToken: p1.nextToken });
      expect(p2.items.map((b) => b.name)).toEqual(["team"]);
      expect((await refused(bus.deleteEventBus("default"))).message).toBe("Cannot delete event bus default.");
      expect(p2.nextToken).toBeUndefined();
      expect((await bus.listEventBuses({ limit: 1, namePrefix: "def" })).nextToken).toBeUndefined();
      await bus.putRule({ name: "r", bus: "team", eventPattern: pattern });
      expect((await refused(bus.deleteEventBus("team"))).code).toBe("ValidationException");
      await bus.deleteRule("r", "team");
      await bus.createArchive({ name: "a", eventSourceArn: busArn(identity, "team") });
      expect((await refused(bus.deleteEventBus("team"))).message).toMatch(/while it has archives/);
      await bus.deleteArchive("a");
      await bus.deleteEventBus("team");
      expect((await refused(bus.describeEventBus("team"))).message).toBe("Event bus team does not exist.");
      expect((await refused(bus.deleteEventBus("team"))).code).toBe("ResourceNotFoundException");
    });
  });

  describe("connections and API destinations", () => {
    it("a new connection is AUTHORIZED with a whsec_ secret; rotation keeps the previous one", async () => {
      const c = await bus.createConnection({
        name: "c",
        authorizationType: "BASIC",
        authParameters: { BasicAuthParameters: { Username: "u", Password: "p" } },
      });
      expect(c.state).toBe("AUTHORIZED");
      expect(c.arn).toBe(connectionArn(identity, c));
      expect(c.arn).toMatch(/^arn:aws:events:eu-west-1:123456789012:connection\/c\/[0-9a-f-]{36}$/);
      const s = await bus.signingSecret("c");
      expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(s.slice(6), "base64")).toHaveLength(32);
      const rotated = await bus.signingSecret("c", true);
      expect(rotated).not.toBe(s);
      expect((await meta.bus.getConnection("c"))!.previousSigningSecret).toBe(s);
      expect((await bus.requireConnection(c.arn)).name).toBe("c");
      expect((await refused(bus.requireConnection(c.arn.replace(/\/[^/]+$/, "/other")))).code).toBe(
        "ResourceNotFoundException",
      );
      expect(
        (
          await refused(
            bus.createConnection({
              name: "c",
              authorizationType: "BASIC",
              authParameters: { BasicAuthParameters: { Username: "u", Password: "p" } },
            }),
          )
        ).code,
      ).toBe("ResourceAlreadyExistsException");
    });

    it("auth parameters must match the authorization type", async () => {
      const e = await refused(
        bus.createConnection({
          name: "c",
          authorizationType: "API_KEY",
          authParameters: { BasicAuthParameters: { Username: "u", Password: "p" } },
        }),
      );
      expect(e.code).toBe("ValidationException");
      const oauth = await refused(
        bus.createConnection({
          name: "c",
          authorizationType: "OAUTH_CLIENT_CREDENTIALS",
          authParameters: {
            OAuthParameters: { AuthorizationEndpoint: "https://idp/token", HttpMethod: "POST" },
          },
        }),
      );
      expect(oauth.message).toMatch(/ClientParameters\.ClientID/);
      expect((await bus.listConnections({})).items).toEqual([]);
      await bus.createConnection({
        name: "o",
        authorizationType: "OAUTH_CLIENT_CREDENTIALS",
        authParameters: {
          OAuthParameters: {
            AuthorizationEndpoint: "https://idp.example.com/token",
            HttpMethod: "POST",
            ClientParameters: { ClientID: "id", ClientSecret: "sec" },
          },
        },
      });
      const u = await bus.updateConnection({
        name: "o",
        authParameters: { OAuthParameters: { ClientParameters: { ClientSecret: "new" } } },
      });
      expect(u.authParameters).toEqual({
        OAuthParameters: {
          AuthorizationEndpoint: "https://idp.example.com/token",
          HttpMethod: "POST",
          ClientParameters: { ClientID: "id", ClientSecret: "new" },
        },
      });
    });

    it("API destinations: https and (with a warning) http; the connection must exist; default rate 300", async () => {
      const arn = await destination("hook");
      expect(arn).toBe(apiDestinationArn(identity, (await meta.bus.getApiDestination("hook"))!));
      const d = await bus.requireApiDestination("hook");
      expect(d).toMatchObject({
        invocationRateLimitPerSecond: 300,
        state: "ACTIVE",
        connectionName: "hook-conn",
      });
      expect(warnings).toEqual([]);
      await bus.updateApiDestination({ name: "hook", invocationEndpoint: "http://10.0.0.5/in" });
      expect(warnings).toEqual(["API destination hook uses plain http: deliveries are unencrypted"]);
      const e = await refused(
        bus.createApiDestination({
          name: "x",
          connectionArn: "missing",
          invocationEndpoint: "https://a/b",
          httpMethod: "POST",
        }),
      );
      expect(e.code).toBe("ResourceNotFoundException");
      expect(
        (
          await refused(
            bus.createApiDestination({
              name: "x",
              connectionArn: "hook-conn",
              invocationEndpoint: "ftp://a/b",
              httpMethod: "POST",
            }),
          )
        ).code,
      ).toBe("ValidationException");
      expect((await refused(bus.deleteConnection("hook-conn"))).code).toBe("ValidationException");
      await bus.deleteApiDestination("hook");
      expect((await bus.deleteConnection("hook-conn")).state).toBe("DELETING");
      expect((await bus.listConnections({})).items).toEqual([]);
    });
  });

  describe("archives, replays and tags", () => {
    it("CreateArchive on a bus; StartReplay records STARTING and queues its job in the same transaction", async () => {
      const a = await bus.createArchive({
        name: "all",
        eventSourceArn: busArn(identity, "default"),
        retentionDays: 7,
      });
      expect(a.arn).toBe("arn:aws:events:eu-west-1:123456789012:archive/all");
      expect(await bus.describeArchive("all")).toMatchObject({
        bus: "default",
        retentionDays: 7,
        eventCount: 0,
        sizeBytes: 0,
      });
      expect(
        (await refused(bus.createArchive({ name: "all", eventSourceArn: busArn(identity, "default") }))).code,
      ).toBe("ResourceAlreadyExistsException");
      expect(
        (await refused(bus.createArchive({ name: "x", eventSourceArn: busArn(identity, "nope") }))).code,
      ).toBe("ResourceNotFoundException");
      expect(
        (
          await refused(
            bus.createArchive({ name: "x", eventSourceArn: busArn(identity, "default"), eventPattern: "{" }),
          )
        ).code,
      ).toBe("InvalidEventPatternException");
      const now = Date.now();
      const r = await bus.startReplay({
        name: "again",
        eventSourceArn: a.arn,
        eventStartTime: now - 3_600_000,
        eventEndTime: now - 1000,
        destination: { Arn: busArn(identity, "default") },
      });
      expect(r.state).toBe("STARTING");
      expect((await bus.describeReplay("again")).archive).toBe("all");
      const job = await meta.jobs.claim(["events-replay"], 60_000);
      expect(job).toMatchObject({ kind: "events-replay", key: "again", payload: { name: "again" } });
      const replayOf = (name: string, archive: string, dest = "default") =>
        bus.startReplay({
          name,
          eventSourceArn: `arn:aws:events:eu-west-1:123456789012:archive/${archive}`,
          eventStartTime: now - 3_600_000,
          eventEndTime: now - 1000,
          destination: { Arn: busArn(identity, dest) },
        });
      expect((await refused(replayOf("again", "all"))).message).toBe("Replay again already exists.");
      const far = await refused(
        bus.startReplay({
          name: "far",
          eventSourceArn: a.arn,
          eventStartTime: 0,
          eventEndTime: 1e300,
          destination: { Arn: busArn(identity, "default") },
        }),
      );
      expect(far.message).toBe(
        "Parameter EventEndTime is not valid. Reason: it must be between 1970 and 9999.",
      );
      const missing = await refused(replayOf("x", "nope"));
      expect([missing.code, missing.message]).toEqual([
        "ValidationException",
        "Parameter EventSourceArn is not valid. Reason: Archive nope does not exist.",
      ]);
      expect((await refused(replayOf("x", "all", "ghost"))).message).toBe("Event bus ghost does not exist.");
      expect((await bus.listReplays({})).items.map((x) => x.name)).toEqual(["again"]);
      expect((await bus.cancelReplay("again")).state).toBe("CANCELLING");
      expect((await refused(bus.cancelReplay("again"))).code).toBe("IllegalStatusException");
      await bus.createEventBus({ name: "team" });
      expect(
        (
          await refused(
            bus.startReplay({
              name: "cross",
              eventSourceArn: a.arn,
              eventStartTime: now - 3_600_000,
              eventEndTime: now - 1000,
              destination: { Arn: busArn(identity, "team") },
            }),
          )
        ).message,
      ).toBe("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.");
    });

    it("tags on rules, buses, connections and archives; an unknown ARN is ResourceNotFoundException", async () => {
      const { arn } = await bus.putRule({
        name: "r",
        eventPattern: pattern,
        tags: [{ Key: "team", Value: "a" }],
      });
      await bus.tagResource(arn, [{ Key: "env", Value: "prod" }]);
      expect(await bus.listTags(arn)).toEqual(
        expect.arrayContaining([
          { Key: "team", Value: "a" },
          { Key: "env", Value: "prod" },
        ]),
      );
      await bus.untagResource(arn, ["team"]);
      expect(await bus.listTags(arn)).toEqual([{ Key: "env", Value: "prod" }]);
      const dup = await refused(
        bus.putRule({
          name: "r2",
          eventPattern: pattern,
          tags: [
            { Key: "a", Value: "1" },
            { Key: "a", Value: "2" },
          ],
        }),
      );
      expect(dup.message).toBe("Invalid parameter: Duplicated keys are not allowed.");
      expect((await refused(bus.describeRule("r2"))).code).toBe("ResourceNotFoundException");
      await bus.tagResource(busArn(identity, "default"), [{ Key: "k", Value: "v" }]);
      expect(await bus.listTags(busArn(identity, "default"))).toEqual([{ Key: "k", Value: "v" }]);
      expect((await refused(bus.listTags(ruleArn(identity, "default", "missing")))).code).toBe(
        "ResourceNotFoundException",
      );
      expect((await refused(bus.tagResource("arn:aws:events:us-east-1:123456789012:rule/r", []))).code).toBe(
        "ResourceNotFoundException",
      );
      await bus.deleteRule("r");
      await bus.putRule({ name: "r", eventPattern: pattern });
      expect(await bus.listTags(arn)).toEqual([]);
    });
  });
});
