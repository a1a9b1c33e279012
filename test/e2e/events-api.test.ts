import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DeleteRuleCommand,
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  TestEventPatternCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli, awsEnv, type AwsCli } from "./aws-cli.js";
import { run, startDrydock, type Drydock } from "./harness.js";

/**
 * The EventBridge API end to end (docs/events.md, "The EventBridge API"): the real AWS CLI
 * (/usr/bin/aws) and @aws-sdk/client-eventbridge against one `drydock serve`, signing with
 * SigV4 for service `events` on the ECR port. Rules, targets (an API destination after its
 * connection), buses, PutEvents, TestEventPattern, tags, archives and replays; a caller whose
 * user lacks `admin` may read but not change anything.
 */

const ACCOUNT = "123456789012";
const ADMIN = { accessKeyId: "AKIAEVENTSADMIN00001", secretAccessKey: "events-admin-secret-0123456789" };
const READER = { accessKeyId: "AKIAEVENTSREADER0001", secretAccessKey: "events-reader-secret-012345678" };
const PATTERN = JSON.stringify({ source: ["aws.ecr"], "detail-type": ["ECR Image Scan"] });

describe("EventBridge API with the real AWS CLI and SDK", () => {
  let dd: Drydock;
  let work: string;
  let aws: AwsCli;
  let reader: AwsCli;
  let sdk: EventBridgeClient;

  /** Runs the CLI and returns its JSON output, failing with its stderr. */
  const ok = async (...args: string[]) => {
    const r = await aws(...args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim() ? r.json() : {};
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-events-api-"));
    dd = await startDrydock({
      dataDir: join(work, "data"),
      config: {
        auth: {
          users: [
            {
              username: "ops",
              passwordHash: bcrypt.hashSync("ops-password-not-used", 4),
              access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
            },
            {
              username: "viewer",
              passwordHash: bcrypt.hashSync("viewer-password-not-used", 4),
              access: [{ repository: "**", actions: ["pull"] }],
            },
          ],
        },
        aws: {
          accountId: ACCOUNT,
          credentials: [
            { ...ADMIN, user: "ops" },
            { ...READER, user: "viewer" },
          ],
        },
      },
    });
    aws = awsCli(dd.url, await awsEnv(join(work, "admin"), ADMIN.accessKeyId, ADMIN.secretAccessKey));
    reader = awsCli(dd.url, await awsEnv(join(work, "reader"), READER.accessKeyId, READER.secretAccessKey));
    sdk = new EventBridgeClient({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: ADMIN,
      maxAttempts: 1,
    });
  }, 60_000);
  afterAll(async () => {
    sdk?.destroy();
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("put-rule, describe-rule, list-rules by prefix, enable/disable", async () => {
    const put = await ok("events", "put-rule", "--name", "scans", "--event-pattern", PATTERN);
    expect(put.RuleArn).toBe(`arn:aws:events:us-east-1:${ACCOUNT}:rule/scans`);
    await sdk.send(new PutRuleCommand({ Name: "other", EventPattern: PATTERN, Description: "d" }));
    // Independent CLI calls run together: each is a Python process of a second or more.
    const [described, listed, missing] = await Promise.all([
      ok("events", "describe-rule", "--name", "scans"),
      ok("events", "list-rules", "--name-prefix", "sca"),
      aws("events", "describe-rule", "--name", "nope"),
    ]);
    expect(described).toEqual({
      Name: "scans",
      Arn: put.RuleArn,
      EventPattern: PATTERN,
      State: "ENABLED",
      EventBusName: "default",
      CreatedBy: ACCOUNT,
    });
    expect(listed.Rules.map((r: { Name: string }) => r.Name)).toEqual(["scans"]);
    expect(missing.code).toBe(254);
    expect(missing.stderr).toContain(
      "An error occurred (ResourceNotFoundException) when calling the DescribeRule operation: Rule nope does not exist on EventBus default.",
    );
    await sdk.send(new DisableRuleCommand({ Name: "scans" }));
    expect((await sdk.send(new DescribeRuleCommand({ Name: "scans" }))).State).toBe("DISABLED");
    await sdk.send(new EnableRuleCommand({ Name: "scans" }));
    expect((await sdk.send(new DescribeRuleCommand({ Name: "scans" }))).State).toBe("ENABLED");
    await expect(
      sdk.send(new PutRuleCommand({ Name: "bad", EventPattern: '{"source":"aws.ecr"}' })),
    ).rejects.toMatchObject({
      name: "InvalidEventPatternException",
      message: expect.stringMatching(/^Event pattern is not valid\. Reason: /),
    });
  }, 60_000);

  it("targets: an API destination after create-connection; delete-rule refused while targets remain", async () => {
    const conn = await sdk.send(
      new CreateConnectionCommand({
        Name: "hooks",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "s3cret-value" } },
      }),
    );
    expect(conn.ConnectionState).toBe("AUTHORIZED");
    const described = await sdk.send(new DescribeConnectionCommand({ Name: "hooks" }));
    expect(described.AuthParameters).toEqual({ ApiKeyAuthParameters: { ApiKeyName: "x-api-key" } });
    expect(JSON.stringify(described)).not.toContain("s3cret-value");
    const dest = await sdk.send(
      new CreateApiDestinationCommand({
        Name: "receiver",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: "http://127.0.0.1:9/in",
        HttpMethod: "POST",
      }),
    );
    const destArn = dest.ApiDestinationArn!;
    expect(destArn).toMatch(/^arn:aws:events:us-east-1:123456789012:api-destination\/receiver\//);
    expect(
      (await sdk.send(new DescribeApiDestinationCommand({ Name: "receiver" }))).InvocationRateLimitPerSecond,
    ).toBe(300);
    expect(dd.logs()).toContain("API destination receiver uses plain http: deliveries are unencrypted");

    const targets = [
      {
        Id: "hook",
        Arn: destArn,
        InputTransformer: {
          InputPathsMap: { repo: "$.detail.repository-name" },
          InputTemplate: '{"text": "scan of <repo>"}',
        },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
      },
    ];
    const put = await ok("events", "put-targets", "--rule", "scans", "--targets", JSON.stringify(targets));
    expect(put).toEqual({ FailedEntryCount: 0, FailedEntries: [] });
    const [listed, byTarget, refused] = await Promise.all([
      ok("events", "list-targets-by-rule", "--rule", "scans"),
      ok("events", "list-rule-names-by-target", "--target-arn", destArn),
      aws("events", "delete-rule", "--name", "scans"),
    ]);
    expect(listed.Targets).toEqual(targets);
    expect(byTarget.RuleNames).toEqual(["scans"]);
    expect(refused.stderr).toContain(
      "An error occurred (ValidationException) when calling the DeleteRule operation: Rule can't be deleted since it has targets.",
    );
    const six = Array.from({ length: 6 }, (_, i) => ({ Id: `t${i}`, Arn: destArn }));
    await expect(sdk.send(new PutTargetsCommand({ Rule: "other", Targets: six }))).rejects.toMatchObject({
      name: "LimitExceededException",
      message: "The requested resource exceeds the maximum number allowed.",
    });
    expect((await sdk.send(new ListTargetsByRuleCommand({ Rule: "other" }))).Targets).toEqual([]);

    expect(await ok("events", "remove-targets", "--rule", "scans", "--ids", "hook")).toEqual({
      FailedEntryCount: 0,
      FailedEntries: [],
    });
    await sdk.send(new DeleteRuleCommand({ Name: "scans" }));
    expect((await sdk.send(new ListRulesCommand({ NamePrefix: "sca" }))).Rules).toEqual([]);

    // The connection's signing secret, shown and rotated by the CLI on the same data directory.
    const cli = join(process.cwd(), "dist/cli/main.js");
    const secret = (...extra: string[]) =>
      run(process.execPath, [cli, "events", "connection-secret", "hooks", "--data", dd.dataDir, ...extra]);
    const shown = await secret();
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.trim()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const rotated = await secret("--rotate");
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout.trim()).toMatch(/^whsec_/);
    expect(rotated.stdout.trim()).not.toBe(shown.stdout.trim());
  }, 60_000);

  it("test-event-pattern (true, false, bad pattern) with the CLI and the SDK", async () => {
    const event = {
      id: "e1",
      account: ACCOUNT,
      source: "aws.ecr",
      time: "2026-01-01T00:00:00Z",
      region: "us-east-1",
      "detail-type": "ECR Image Scan",
      resources: [],
      detail: {},
    };
    const t = await ok(
      "events",
      "test-event-pattern",
      "--event-pattern",
      PATTERN,
      "--event",
      JSON.stringify(event),
    );
    expect(t.Result).toBe(true);
    const f = await sdk.send(
      new TestEventPatternCommand({
        EventPattern: PATTERN,
        Event: JSON.stringify({ ...event, source: "x" }),
      }),
    );
    expect(f.Result).toBe(false);
    await expect(
      sdk.send(new TestEventPatternCommand({ EventPattern: '{"source":[]}', Event: JSON.stringify(event) })),
    ).rejects.toMatchObject({ name: "InvalidEventPatternException" });
  });

  it("put-events: per-entry results; more than 10 entries is a ValidationException (SDK)", async () => {
    const entry = { Source: "my.app", DetailType: "Order Placed", Detail: '{"id":1}' };
    const r = await ok(
      "events",
      "put-events",
      "--entries",
      JSON.stringify([entry, { ...entry, Detail: "[1]" }]),
    );
    expect(r.FailedEntryCount).toBe(1);
    expect(r.Entries[0].EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.Entries[1]).toEqual({ ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." });
    const sdkOk = await sdk.send(new PutEventsCommand({ Entries: [entry] }));
    expect(sdkOk.FailedEntryCount).toBe(0);
    await expect(
      sdk.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) })),
    ).rejects.toMatchObject({
      name: "ValidationException",
      message: expect.stringMatching(
        /at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10$/,
      ),
    });
  });

  it("ListRules pages with NextToken through the SDK (Limit 7 over 20 rules) and the CLI", async () => {
    for (let i = 0; i < 20; i++)
      await sdk.send(
        new PutRuleCommand({ Name: `page-${String(i).padStart(2, "0")}`, EventPattern: PATTERN }),
      );
    // @aws-sdk/client-eventbridge has no paginator for ListRules (the model declares none): follow NextToken.
    const names: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const p = await sdk.send(new ListRulesCommand({ NamePrefix: "page-", Limit: 7, NextToken: token }));
      pages++;
      names.push(...(p.Rules ?? []).map((r) => r.Name!));
      token = p.NextToken;
    } while (token !== undefined);
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 20 }, (_, i) => `page-${String(i).padStart(2, "0")}`));
    // The CLI follows NextToken on its own.
    expect((await ok("events", "list-rules", "--name-prefix", "page-")).Rules).toHaveLength(20);
  });

  it("event buses: create, describe, list, delete; default cannot be deleted", async () => {
    const c = await ok("events", "create-event-bus", "--name", "team");
    expect(c).toEqual({ EventBusArn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/team` });
    const [described, listed] = await Promise.all([
      ok("events", "describe-event-bus", "--name", "team"),
      ok("events", "list-event-buses"),
    ]);
    expect(described.Name).toBe("team");
    expect(listed.EventBuses.map((b: { Name: string }) => b.Name)).toEqual(["default", "team"]);
    const r = await sdk.send(new PutRuleCommand({ Name: "r", EventBusName: "team", EventPattern: PATTERN }));
    expect(r.RuleArn).toBe(`arn:aws:events:us-east-1:${ACCOUNT}:rule/team/r`);
    await sdk.send(new DeleteRuleCommand({ Name: "r", EventBusName: "team" }));
    await ok("events", "delete-event-bus", "--name", "team");
    const [gone, dflt] = await Promise.all([
      aws("events", "describe-event-bus", "--name", "team"),
      aws("events", "delete-event-bus", "--name", "default"),
    ]);
    expect(gone.stderr).toContain(
      "(ResourceNotFoundException) when calling the DescribeEventBus operation: Event bus team does not exist.",
    );
    expect(dflt.stderr).toContain(
      "(ValidationException) when calling the DeleteEventBus operation: Cannot delete event bus default.",
    );
  });

  it("tags, archives and replays", async () => {
    const rule = await sdk.send(new PutRuleCommand({ Name: "tagged", EventPattern: PATTERN }));
    const ruleArn = rule.RuleArn!;
    await ok("events", "tag-resource", "--resource-arn", ruleArn, "--tags", "Key=team,Value=platform");
    expect((await ok("events", "list-tags-for-resource", "--resource-arn", ruleArn)).Tags).toEqual([
      { Key: "team", Value: "platform" },
    ]);
    await sdk.send(new UntagResourceCommand({ ResourceARN: ruleArn, TagKeys: ["team"] }));
    expect((await sdk.send(new ListTagsForResourceCommand({ ResourceARN: ruleArn }))).Tags).toEqual([]);
    await expect(
      sdk.send(new ListTagsForResourceCommand({ ResourceARN: `${ruleArn}-missing` })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });

    const busArn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`;
    const a = await ok(
      "events",
      "create-archive",
      "--archive-name",
      "all",
      "--event-source-arn",
      busArn,
      "--retention-days",
      "7",
    );
    expect(a.ArchiveArn).toBe(`arn:aws:events:us-east-1:${ACCOUNT}:archive/all`);
    const now = Math.floor(Date.now() / 1000);
    const [archive, replay] = await Promise.all([
      ok("events", "describe-archive", "--archive-name", "all"),
      ok(
        "events",
        "start-replay",
        "--replay-name",
        "again",
        "--event-source-arn",
        a.ArchiveArn,
        "--event-start-time",
        String(now - 3600),
        "--event-end-time",
        String(now - 1),
        "--destination",
        JSON.stringify({ Arn: busArn }),
      ),
    ]);
    expect(archive).toMatchObject({
      ArchiveName: "all",
      EventSourceArn: busArn,
      State: "ENABLED",
      RetentionDays: 7,
      EventCount: expect.any(Number),
      SizeBytes: expect.any(Number),
    });
    expect(replay.ReplayArn).toBe(`arn:aws:events:us-east-1:${ACCOUNT}:replay/again`);
    expect(replay.State).toBe("STARTING");
    const d = await sdk.send(new DescribeReplayCommand({ ReplayName: "again" }));
    expect(d).toMatchObject({
      ReplayName: "again",
      EventSourceArn: a.ArchiveArn,
      Destination: { Arn: busArn },
    });
  });

  it("a caller without admin gets AccessDeniedException for put-rule, put-events and reading targets but can list rules", async () => {
    const [denied, ev, listed, targets] = await Promise.all([
      reader("events", "put-rule", "--name", "mine", "--event-pattern", PATTERN),
      reader(
        "events",
        "put-events",
        "--entries",
        JSON.stringify([{ Source: "a", DetailType: "b", Detail: "{}" }]),
      ),
      reader("events", "list-rules"),
      reader("events", "list-targets-by-rule", "--rule", "tagged"),
    ]);
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain(
      `An error occurred (AccessDeniedException) when calling the PutRule operation: User: arn:aws:iam::${ACCOUNT}:user/viewer is not authorized to perform: events:PutRule`,
    );
    expect(ev.stderr).toContain("(AccessDeniedException)");
    // Targets show where events go (endpoints are often secrets): admin only.
    expect(targets.stderr).toContain("(AccessDeniedException)");
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json().Rules.length).toBeGreaterThan(0);
    const readerSdk = new EventBridgeClient({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: READER,
      maxAttempts: 1,
    });
    try {
      expect((await readerSdk.send(new ListRulesCommand({ Limit: 1 }))).Rules).toHaveLength(1);
    } finally {
      readerSdk.destroy();
    }
  });
});
