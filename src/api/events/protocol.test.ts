import fc from "fast-check";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AccessRules } from "../../auth/rules.js";
import { createLogger } from "../../core/logger.js";
import { EventBusService } from "../../events/bus-service.js";
import { metaDrivers, type DriverFixture } from "../../storage/meta/drivers-testing.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { AwsPrincipal } from "../access.js";
import { registerAwsJson } from "../aws-json.js";
import { eventsService } from "./index.js";

const ACCOUNT = "123456789012";
const identity = { accountId: ACCOUNT, region: "us-east-1" };

/** The EventBridge API over HTTP (JSON 1.1) on real stores (SQLite, PostgreSQL); callers named by a variable. */
describe.each(metaDrivers("EventBridge API"))("EventBridge API (AWSEvents.*, %s)", (_driver, open) => {
  let fixture: DriverFixture;
  let meta: MetaStore;
  let app: FastifyInstance;

  beforeEach(async () => {
    fixture = await open(Date.now);
    meta = fixture.store;
    const log = createLogger("silent");
    const bus = new EventBusService(meta, { identity, log });
    app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", (_r, _p, done) => done(null, undefined));
    const reader = AwsPrincipal.user(
      ACCOUNT,
      "reader",
      new AccessRules([{ repository: "**", actions: ["pull"] }]),
    );
    registerAwsJson(app, {
      services: [eventsService(bus)],
      log,
      auth: {
        mode: "open",
        secretFor: () => undefined,
        // The open mode passes no key: the test names its caller with a header instead.
        principal: () => (currentUser === "reader" ? reader : AwsPrincipal.unrestricted(ACCOUNT)),
      },
    });
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
    await meta.close();
    await fixture.cleanup();
  });

  let currentUser = "admin";
  async function call(op: string, body: unknown, user = "admin") {
    currentUser = user;
    const res = await app.inject({
      method: "POST",
      url: "/",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSEvents.${op}` },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
  }

  it("PutRule → DescribeRule with AWS's member names; errors with __type and AWS's texts", async () => {
    const pattern = '{"source":["my.app"]}';
    const put = await call("PutRule", { Name: "r", EventPattern: pattern });
    expect(put).toEqual({ status: 200, body: { RuleArn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/r` } });
    expect((await call("DescribeRule", { Name: "r" })).body).toEqual({
      Name: "r",
      Arn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/r`,
      EventPattern: pattern,
      State: "ENABLED",
      EventBusName: "default",
      CreatedBy: ACCOUNT,
    });
    expect(await call("DescribeRule", { Name: "nope" })).toEqual({
      status: 400,
      body: { __type: "ResourceNotFoundException", message: "Rule nope does not exist on EventBus default." },
    });
    const bad = await call("PutRule", { Name: "bad", EventPattern: '{"source":[]}' });
    expect(bad.body.__type).toBe("InvalidEventPatternException");
    expect(bad.body.message).toMatch(/^Event pattern is not valid\. Reason: Empty arrays are not allowed/);
  });

  it("validates every member as AWS words it (all failures together) and stores nothing", async () => {
    const long = "This should fail with two errors 123467890123412341234123412341234";
    const r = await call("CreateConnection", {
      Name: long,
      AuthorizationType: "INVALID",
      AuthParameters: { BasicAuthParameters: { Username: "u", Password: "p" } },
    });
    expect(r).toEqual({
      status: 400,
      body: {
        __type: "ValidationException",
        message: `3 validation errors detected: Value '${long}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; Value '${long}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64; Value 'INVALID' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]`,
      },
    });
    await call("PutRule", { Name: "r", EventPattern: '{"source":["a"]}' });
    const ids = await call("PutTargets", { Rule: "r", Targets: [{ Id: "!@#$@!#$", Arn: "x" }] });
    expect(ids.body.message).toBe(
      "1 validation error detected: Value '!@#$@!#$' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
    );
    const retry = await call("PutTargets", {
      Rule: "r",
      Targets: [
        { Id: "t", Arn: "x", RetryPolicy: { MaximumRetryAttempts: 186, MaximumEventAgeInSeconds: 59 } },
      ],
    });
    expect(retry.body.message).toBe(
      "2 validation errors detected: Value '186' at 'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185; Value '59' at 'targets.1.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
    );
    expect((await call("ListRules", { Limit: 0 })).body.message).toBe(
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    expect((await call("PutRule", { EventPattern: "{}" })).body.message).toBe(
      "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null",
    );
    expect((await call("PutRule", { Name: 5 })).body.__type).toBe("SerializationException");
    expect(
      (await call("PutRule", { Name: "n", EventPattern: "{}", Description: "a\u0000b" })).body.message,
    ).toBe(
      "1 validation error detected: Value 'a\u0000b' at 'description' failed to satisfy constraint: Member must not contain the character U+0000",
    );
    // JSON null is an absent member, in structures and lists alike.
    expect((await call("DescribeEventBus", { Name: null })).body).toMatchObject({ Name: "default" });
    expect((await call("ListTagsForResource", { ResourceARN: null })).body.message).toBe(
      "1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must not be null",
    );
    // A header value the model's pattern refuses after exponential backtracking: answered at once.
    const started = Date.now();
    const header = await call("CreateConnection", {
      Name: "h",
      AuthorizationType: "API_KEY",
      AuthParameters: {
        ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" },
        InvocationHttpParameters: { HeaderParameters: [{ Key: "x", Value: `${"a ".repeat(200)}\u0001` }] },
      },
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(header.body.message).toBe(
      `1 validation error detected: Value '${"a ".repeat(200)}\u0001' at 'authParameters.invocationHttpParameters.headerParameters.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[ \\t]*[\\x20-\\x7E]+([ \\t]+[\\x20-\\x7E]+)*[ \\t]*$`,
    );
    const endpoint = await call("CreateApiDestination", {
      Name: "d",
      ConnectionArn: "c",
      InvocationEndpoint: "https://a/b c",
      HttpMethod: "SEND",
    });
    expect(endpoint.body.message).toBe(
      "2 validation errors detected: Value 'https://a/b c' at 'invocationEndpoint' failed to satisfy constraint: Member must satisfy regular expression pattern: ^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@&=+$,A-Za-z0-9])+)([).!';/?:,])?$; Value 'SEND' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]",
    );
    expect((await call("ListConnections", {})).body).toEqual({ Connections: [] });
    expect((await call("ListTargetsByRule", { Rule: "r" })).body).toEqual({ Targets: [] });
  });

  it("PutEvents: per-entry results with HTTP 200; more than 10 entries is a ValidationException", async () => {
    const entry = { Source: "my.app", DetailType: "t", Detail: "{}" };
    const ok = await call("PutEvents", { Entries: [entry, { ...entry, Detail: "[]" }] });
    expect(ok.status).toBe(200);
    expect(ok.body.FailedEntryCount).toBe(1);
    expect((ok.body.Entries as object[])[1]).toEqual({
      ErrorCode: "MalformedDetail",
      ErrorMessage: "Detail is malformed.",
    });
    const many = await call("PutEvents", { Entries: Array.from({ length: 11 }, () => entry) });
    expect(many.status).toBe(400);
    expect(many.body.__type).toBe("ValidationException");
    expect(many.body.message).toMatch(
      /^1 validation error detected: Value '\[PutEventsRequestEntry\(time=null, source=my\.app, resources=null, detailType=t, detail=\{\}, eventBusName=null, traceHeader=null.*\)\]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10$/,
    );
  });

  it("TestEventPattern answers Result; a caller without admin may read but not change", async () => {
    const event = JSON.stringify({
      id: "1",
      account: ACCOUNT,
      source: "my.app",
      time: "2026-01-01T00:00:00Z",
      region: "us-east-1",
      "detail-type": "x",
      detail: {},
    });
    expect(
      (await call("TestEventPattern", { EventPattern: '{"source":["my.app"]}', Event: event }, "reader"))
        .body,
    ).toEqual({
      Result: true,
    });
    const denied = await call("PutRule", { Name: "r", EventPattern: "{}" }, "reader");
    expect(denied.body.__type).toBe("AccessDeniedException");
    expect(denied.body.message).toMatch(
      /^User: arn:aws:iam::123456789012:user\/reader is not authorized to perform: events:PutRule on resource: arn:aws:events:us-east-1:123456789012:rule\/r because/,
    );
    const onBus = await call(
      "PutRule",
      { Name: "r", EventPattern: "{}", EventBusName: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/team` },
      "reader",
    );
    expect(onBus.body.message).toContain(
      `on resource: arn:aws:events:us-east-1:${ACCOUNT}:rule/team/r because`,
    );
    expect(
      (await call("PutEvents", { Entries: [{ Source: "a", DetailType: "b", Detail: "{}" }] }, "reader")).body
        .__type,
    ).toBe("AccessDeniedException");
    // Targets, API destinations and connections show endpoints (often secrets themselves): admin.
    for (const [op, body] of [
      ["ListTargetsByRule", { Rule: "r" }],
      ["ListApiDestinations", {}],
      ["DescribeApiDestination", { Name: "d" }],
      ["ListConnections", {}],
      ["DescribeConnection", { Name: "c" }],
    ] as const)
      expect((await call(op, body, "reader")).body.__type, op).toBe("AccessDeniedException");
    expect((await call("ListRules", {}, "reader")).body).toEqual({ Rules: [] });
    expect((await call("ListEventBuses", {}, "reader")).body).toEqual({
      EventBuses: [{ Name: "default", Arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default` }],
    });
  });

  it("any JSON to any operation (property): a result or a client error with AWS's __type, never a server error", async () => {
    const ops = Object.keys(
      eventsService(new EventBusService(meta, { identity, log: createLogger("silent") })).operations,
    );
    const members = [
      "Name",
      "Rule",
      "EventBusName",
      "EventPattern",
      "ScheduleExpression",
      "State",
      "Targets",
      "Ids",
      "Entries",
      "Event",
      "AuthorizationType",
      "AuthParameters",
      "ConnectionArn",
      "InvocationEndpoint",
      "HttpMethod",
      "ArchiveName",
      "EventSourceArn",
      "ReplayName",
      "EventStartTime",
      "EventEndTime",
      "Destination",
      "ResourceARN",
      "Tags",
      "TagKeys",
      "Limit",
      "NextToken",
      "NamePrefix",
      "TargetArn",
      "RetentionDays",
    ];
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(
        "default",
        "r",
        `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`,
        '{"source":["a"]}',
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ops),
        fc.dictionary(fc.constantFrom(...members), value),
        async (op, body) => {
          const r = await call(op, body);
          if (r.status !== 200) {
            expect(r.status, JSON.stringify(r.body)).toBe(400);
            expect(typeof r.body.__type).toBe("string");
            expect(r.body.__type).not.toBe("ServerException");
          }
        },
      ),
      { numRuns: 1000 },
    );
  }, 60_000);

  it("PutRule and PutTargets with well-formed but arbitrary members (property): never a server error", async () => {
    await call("CreateEventBus", { Name: "team" });
    const arnOf = fc.constantFrom(
      `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`,
      `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/team`,
      `arn:aws:events:us-east-1:${ACCOUNT}:api-destination/d/0000`,
      `arn:drydock:command:us-east-1:${ACCOUNT}:c`,
      "arn:aws:sqs:us-east-1:123456789012:q",
      "nope",
    );
    const text = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    );
    const target = fc.record(
      {
        Id: fc.constantFrom("a", "b", "c"),
        Arn: arnOf,
        Input: text,
        InputPath: fc.oneof(fc.constantFrom("$", "$.detail", "$.a[0]", "$..x"), fc.string({ maxLength: 10 })),
        InputTransformer: fc.record(
          {
            InputPathsMap: fc.dictionary(
              fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/),
              fc.constantFrom("$.detail", "$.x", "bad"),
            ),
            InputTemplate: fc.oneof(text, fc.constantFrom('{"a": <k>}', "<aws.events.event>", "<x> and <y>")),
          },
          { requiredKeys: ["InputTemplate"] },
        ),
        RetryPolicy: fc.record({ MaximumRetryAttempts: fc.integer({ min: 0, max: 185 }) }),
        DeadLetterConfig: fc.record({ Arn: arnOf }),
      },
      { requiredKeys: ["Id", "Arn"] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(text, { nil: undefined }),
        fc.constantFrom(undefined, "default", "team"),
        fc.array(target, { minLength: 1, maxLength: 7 }),
        async (pattern, busName, targets) => {
          const put = await call("PutRule", {
            Name: "r",
            EventPattern: pattern ?? '{"source":["x"]}',
            EventBusName: busName,
          });
          expect(
            put.status === 200 || put.body.__type === "InvalidEventPatternException",
            JSON.stringify(put.body),
          ).toBe(true);
          const r = await call("PutTargets", { Rule: "r", EventBusName: busName, Targets: targets });
          expect([200, 400], JSON.stringify(r.body)).toContain(r.status);
          expect(r.body.__type).not.toBe("ServerException");
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  it("random sequences of well-formed calls on a few names (property): never a server error", async () => {
    const n = fc.constantFrom("a", "b");
    const arn = (kind: string) => n.map((x) => `arn:aws:events:us-east-1:${ACCOUNT}:${kind}/${x}`);
    const busArnArb = fc
      .constantFrom("default", "a", "b")
      .map((x) => `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/${x}`);
    const auth = fc.constantFrom(
      ["API_KEY", { ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" } }],
      ["BASIC", { BasicAuthParameters: { Username: "u", Password: "p" } }],
      [
        "OAUTH_CLIENT_CREDENTIALS",
        {
          OAuthParameters: {
            ClientParameters: { ClientID: "i", ClientSecret: "s" },
            AuthorizationEndpoint: "https://idp.example/token",
            HttpMethod: "POST",
          },
        },
      ],
      ["BASIC", { ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" } }],
    );
    const now = Math.floor(Date.now() / 1000);
    const call$ = fc.oneof(
      fc.tuple(fc.constant("CreateEventBus"), fc.record({ Name: n })),
      fc.tuple(fc.constant("DeleteEventBus"), fc.record({ Name: n })),
      fc.tuple(
        fc.constant("PutRule"),
        fc.record({
          Name: n,
          EventBusName: fc.constantFrom("default", "a", "b"),
          EventPattern: fc.constant('{"source":["x"]}'),
        }),
      ),
      fc.tuple(
        fc.constant("DeleteRule"),
        fc.record({ Name: n, EventBusName: fc.constantFrom("default", "a"), Force: fc.boolean() }),
      ),
      fc.tuple(
        fc.constant("CreateConnection"),
        fc.tuple(n, auth).map(([Name, [t, p]]) => ({ Name, AuthorizationType: t, AuthParameters: p })),
      ),
      fc.tuple(
        fc.constant("UpdateConnection"),
        fc.tuple(n, auth).map(([Name, [t, p]]) => ({ Name, AuthorizationType: t, AuthParameters: p })),
      ),
      fc.tuple(fc.constant("DeleteConnection"), fc.record({ Name: n })),
      fc.tuple(fc.constant("DescribeConnection"), fc.record({ Name: n })),
      fc.tuple(
        fc.constant("CreateApiDestination"),
        fc.record({
          Name: n,
          ConnectionArn: n,
          InvocationEndpoint: fc.constantFrom("https://h/x", "http://h/y", "ftp://h"),
          HttpMethod: fc.constant("POST"),
        }),
      ),
      fc.tuple(
        fc.constant("UpdateApiDestination"),
        fc.record({
          Name: n,
          ConnectionArn: n,
          InvocationRateLimitPerSecond: fc.integer({ min: 1, max: 1000 }),
        }),
      ),
      fc.tuple(fc.constant("DeleteApiDestination"), fc.record({ Name: n })),
      fc.tuple(
        fc.constant("ListApiDestinations"),
        fc.record({ ConnectionArn: arn("connection") }, { requiredKeys: [] }),
      ),
      fc.tuple(
        fc.constant("CreateArchive"),
        fc.record({ ArchiveName: n, EventSourceArn: busArnArb, RetentionDays: fc.nat(100) }),
      ),
      fc.tuple(
        fc.constant("UpdateArchive"),
        fc.record({ ArchiveName: n, EventPattern: fc.constantFrom('{"a":["b"]}', "{") }),
      ),
      fc.tuple(fc.constant("DeleteArchive"), fc.record({ ArchiveName: n })),
      fc.tuple(fc.constant("DescribeArchive"), fc.record({ ArchiveName: n })),
      fc.tuple(fc.constant("ListArchives"), fc.record({ EventSourceArn: busArnArb }, { requiredKeys: [] })),
      fc.tuple(
        fc.constant("StartReplay"),
        fc.record({
          ReplayName: n,
          EventSourceArn: arn("archive"),
          EventStartTime: fc.constant(now - 3600),
          EventEndTime: fc.constant(now - 1),
          Destination: busArnArb.map((Arn) => ({ Arn })),
        }),
      ),
      fc.tuple(fc.constant("CancelReplay"), fc.record({ ReplayName: n })),
      fc.tuple(
        fc.constant("ListReplays"),
        fc.record({ EventSourceArn: arn("archive") }, { requiredKeys: [] }),
      ),
      fc.tuple(
        fc.constant("TagResource"),
        fc.record({
          ResourceARN: fc.oneof(arn("rule"), busArnArb, arn("archive")),
          Tags: fc.constant([{ Key: "k", Value: "v" }]),
        }),
      ),
      fc.tuple(
        fc.constant("ListTagsForResource"),
        fc.record({ ResourceARN: fc.oneof(arn("rule"), busArnArb, arn("archive"), arn("replay")) }),
      ),
      fc.tuple(fc.constant("ListEventBuses"), fc.record({ Limit: fc.integer({ min: 1, max: 3 }) })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(call$, { minLength: 1, maxLength: 15 }), async (calls) => {
        for (const [op, body] of calls) {
          const r = await call(op, body);
          expect(r.body.__type, `${op} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).not.toBe(
            "ServerException",
          );
          expect([200, 400]).toContain(r.status);
        }
      }),
      { numRuns: 30 },
    );
  }, 60_000);

  it("DescribeConnection never shows a secret", async () => {
    const created = await call("CreateConnection", {
      Name: "c",
      AuthorizationType: "API_KEY",
      AuthParameters: {
        ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "topsecret" },
        InvocationHttpParameters: {
          HeaderParameters: [
            { Key: "x-team", Value: "platform", IsValueSecret: false },
            { Key: "x-token", Value: "topsecret-too", IsValueSecret: true },
          ],
        },
      },
    });
    expect(created.body).toMatchObject({ ConnectionState: "AUTHORIZED" });
    const d = await call("DescribeConnection", { Name: "c" });
    expect(d.body).toMatchObject({
      Name: "c",
      AuthorizationType: "API_KEY",
      AuthParameters: {
        ApiKeyAuthParameters: { ApiKeyName: "x-api-key" },
        InvocationHttpParameters: {
          HeaderParameters: [
            { Key: "x-team", Value: "platform", IsValueSecret: false },
            { Key: "x-token", IsValueSecret: true },
          ],
        },
      },
    });
    expect(d.body.SecretArn).toMatch(
      /^arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection\/c\//,
    );
    expect(JSON.stringify(d.body)).not.toMatch(/topsecret|whsec_/);
  });
});
