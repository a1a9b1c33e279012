import { existsSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../src/events/webhook-signature.js";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";
import {
  importVulnDb,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  scrapeMetric,
  serverProblems,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";
import { Receiver } from "./receiver.js";

/**
 * The event bus end to end, on `drydock serve` with the real AWS CLI (`aws events ...`) and a
 * small HTTP receiver started here:
 * - BASIC: a rule on `ECR Image Scan` with an input transformer delivers the event of a skopeo
 *   push into a scan-on-push repository, transformed and signed (Standard Webhooks); the push's
 *   `ECR Image Action` event, which the rule does not match, is not delivered;
 * - ENHANCED: a rule on `Inspector2 Finding` with severity CRITICAL or HIGH delivers exactly
 *   the CRITICAL and HIGH findings of the pushed image;
 * - retries: the receiver answers 500, then 429 with Retry-After, then 200: every event arrives
 *   and the attempts follow the backoff; a receiver that never answers ends in the dead-letter
 *   store, and `drydock events dlq redrive` delivers once it is back;
 * - kill -9 with 1,000 deliveries pending: after the restart all are delivered.
 */

const skip = missingShared();
const cli = join(repoRoot, "dist/cli/main.js");
const AKID = "AKIAEVENTSDELIVERY01";
const SECRET = "events-delivery-e2e-secret-0123456789";
/** Retries in this test: 200 ms doubled, at most 1 s apart (the defaults are 1 s and 5 minutes). */
const RETRY_BASE_MS = 200;
const MAX_BACKOFF_S = 1;
const RECORD_FILE = join(tmpdir(), `drydock-events-record-${process.pid}.jsonl`);

describe.skipIf(skip)("event delivery end to end (aws events, a webhook receiver)", () => {
  let work: string;
  let dataDir: string;
  let dd: Drydock;
  let aws: AwsCli;
  /** The SDK, for the set-up of the tests after the first two (the AWS CLI takes ~1 s a call). */
  let sdk: EventBridgeClient;
  const receiver = new Receiver();
  const config = {
    aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
    events: {
      retryBaseMs: RETRY_BASE_MS,
      maxBackoffSeconds: MAX_BACKOFF_S,
      leaseSeconds: 5,
      // A command target: appends its standard input (the event) to the file named by its argument.
      commands: {
        record: {
          argv: [
            process.execPath,
            "-e",
            "process.stdin.pipe(require('fs').createWriteStream(process.argv[1], { flags: 'a' }))",
            RECORD_FILE,
          ],
          timeoutSeconds: 10,
        },
      },
    },
  };

  async function until<T>(
    what: string,
    f: () => T | undefined | Promise<T | undefined>,
    ms = 60_000,
  ): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${dd.logs().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async function ok(...args: string[]): Promise<Json> {
    const r = await aws(...args);
    expect(r.code, `aws ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout.trim() ? r.json() : {};
  }
  async function drydock(...args: string[]): Promise<string> {
    const r = await run(process.execPath, [cli, ...args, "--data", dataDir]);
    expect(r.code, `drydock ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }
  /** A connection, an API destination to the receiver's `path`, and the destination's ARN. */
  async function destination(name: string, path: string, rate?: number): Promise<string> {
    await ok(
      "events",
      "create-connection",
      "--name",
      name,
      "--authorization-type",
      "API_KEY",
      "--auth-parameters",
      JSON.stringify({ ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: `key-${name}` } }),
    );
    const conn = await ok("events", "describe-connection", "--name", name);
    const dest = await ok(
      "events",
      "create-api-destination",
      "--name",
      name,
      "--connection-arn",
      conn.ConnectionArn,
      "--invocation-endpoint",
      `${receiver.url}${path}`,
      "--http-method",
      "POST",
      ...(rate ? ["--invocation-rate-limit-per-second", String(rate)] : []),
    );
    return dest.ApiDestinationArn as string;
  }
  /** The same through the SDK, with a rule on `source` targeting it; returns nothing. */
  async function sdkRoute(name: string, source: string, target: Record<string, unknown> = {}): Promise<void> {
    const conn = await sdk.send(
      new CreateConnectionCommand({
        Name: name,
        AuthorizationType: "BASIC",
        AuthParameters: { BasicAuthParameters: { Username: "drydock", Password: `pw-${name}` } },
      }),
    );
    const dest = await sdk.send(
      new CreateApiDestinationCommand({
        Name: name,
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${receiver.url}/${name}`,
        HttpMethod: "POST",
      }),
    );
    await sdk.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify({ source: [source] }) }));
    const put = await sdk.send(
      new PutTargetsCommand({ Rule: name, Targets: [{ Id: name, Arn: dest.ApiDestinationArn, ...target }] }),
    );
    expect(put.FailedEntryCount).toBe(0);
  }
  const at = (path: string) => receiver.received.filter((r) => r.url.startsWith(path));

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-events-e2e-"));
    dataDir = join(work, "data");
    await importVulnDb(dataDir, join(sharedDir, "vulndata/osv/PyPI"));
    await receiver.start();
    dd = await startDrydock({ dataDir, config });
    aws = awsCli(dd.url, await awsEnv(work, AKID, SECRET));
    sdk = new EventBridgeClient({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
    });
  }, 180_000);
  afterAll(async () => {
    await dd?.stop();
    await receiver.stop();
    if (work) await rm(work, { recursive: true, force: true });
    rmSync(RECORD_FILE, { force: true });
  });

  it("BASIC: a push's ECR Image Scan event reaches the API destination, transformed and signed; the unmatched ECR Image Action does not", async () => {
    await ok(
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "BASIC",
      "--rules",
      JSON.stringify([
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "basic-*", filterType: "WILDCARD" }] },
      ]),
    );
    const arn = await destination("scans", "/scans");
    const rule = await ok(
      "events",
      "put-rule",
      "--name",
      "ecr-scans",
      "--event-pattern",
      JSON.stringify({ source: ["aws.ecr"], "detail-type": ["ECR Image Scan"] }),
    );
    expect(rule.RuleArn).toBe("arn:aws:events:us-east-1:123456789012:rule/ecr-scans");
    const put = await ok(
      "events",
      "put-targets",
      "--rule",
      "ecr-scans",
      "--targets",
      JSON.stringify([
        {
          Id: "hook",
          Arn: arn,
          InputTransformer: {
            InputPathsMap: {
              repo: "$.detail.repository-name",
              status: "$.detail.scan-status",
              digest: "$.detail.image-digest",
            },
            InputTemplate: '{"text": "scan of <repo> is <status>", "digest": <digest>}',
          },
        },
      ]),
    );
    expect(put.FailedEntryCount).toBe(0);

    const r = await skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${ociLayout("debian-bookworm-minimal")}`,
      `docker://${dd.addr}/basic-debian:v1`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const digest = manifestDigestOfLayout(ociLayout("debian-bookworm-minimal"));
    const [got] = await until("the scan event's delivery", () =>
      at("/scans").length ? at("/scans") : undefined,
    );
    expect(got!.method).toBe("POST");
    expect(got!.headers["x-api-key"]).toBe("key-scans");
    expect(got!.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(got!.body)).toEqual({ text: "scan of basic-debian is COMPLETE", digest });
    const secret = (await drydock("events", "connection-secret", "scans")).trim();
    expect(secret).toMatch(/^whsec_/);
    expect(() => verifyWebhook(secret, got!.headers, got!.body)).not.toThrow();
    expect(() => verifyWebhook(secret, got!.headers, got!.body.replace("COMPLETE", "FAILED"))).toThrow();
    // The push's ECR Image Action was logged but matches no rule: nothing else arrived.
    await new Promise((r) => setTimeout(r, 500));
    expect(at("/scans")).toHaveLength(1);
    const logged = (await drydock("events", "tail", "-n", "100"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json);
    expect(logged.some((e) => e["detail-type"] === "ECR Image Action")).toBe(true);
    expect(
      await scrapeMetric(dd, "drydock_event_deliveries_total", { outcome: "delivered" }),
    ).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("ENHANCED: a rule on CRITICAL and HIGH Inspector2 findings delivers exactly those of the pushed image", async () => {
    await ok(
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "ENHANCED",
      "--rules",
      JSON.stringify([
        {
          scanFrequency: "SCAN_ON_PUSH",
          repositoryFilters: [{ filter: "enhanced-*", filterType: "WILDCARD" }],
        },
      ]),
    );
    const arn = await destination("findings", "/findings");
    await ok(
      "events",
      "put-rule",
      "--name",
      "serious-findings",
      "--event-pattern",
      JSON.stringify({
        source: ["aws.inspector2"],
        "detail-type": ["Inspector2 Finding"],
        detail: { severity: ["CRITICAL", "HIGH"] },
      }),
    );
    await ok(
      "events",
      "put-targets",
      "--rule",
      "serious-findings",
      "--targets",
      JSON.stringify([{ Id: "hook", Arn: arn }]),
    );
    const r = await skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${ociLayout("python-app")}`,
      `docker://${dd.addr}/enhanced-python:v1`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const digest = manifestDigestOfLayout(ociLayout("python-app"));
    const scan = await until("the enhanced scan", async () => {
      const s = await ok(
        "ecr",
        "describe-image-scan-findings",
        "--repository-name",
        "enhanced-python",
        "--image-id",
        `imageDigest=${digest}`,
      );
      return s.imageScanStatus?.status === "ACTIVE" || s.imageScanStatus?.status === "COMPLETE"
        ? s
        : undefined;
    });
    const all = scan.imageScanFindings.enhancedFindings as Json[];
    const serious = all
      .filter((f) => f.severity === "CRITICAL" || f.severity === "HIGH")
      .map((f) => f.findingArn as string);
    // The image has both kinds, so the pattern's filtering is what is tested.
    expect(serious.length).toBeGreaterThan(0);
    expect(all.length).toBeGreaterThan(serious.length);
    await until("every serious finding's delivery", () =>
      at("/findings").length >= serious.length ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 500));
    const delivered = at("/findings").map((x) => JSON.parse(x.body) as Json);
    expect(delivered.every((e) => e["detail-type"] === "Inspector2 Finding")).toBe(true);
    expect(new Set(delivered.map((e) => e.detail.severity))).toEqual(
      new Set(all.filter((f) => serious.includes(f.findingArn)).map((f) => f.severity)),
    );
    expect(delivered.map((e) => e.detail.findingArn as string).sort()).toEqual([...serious].sort());
  }, 180_000);

  it("retries 500 and 429 (honouring Retry-After) on the backoff schedule until the receiver accepts", async () => {
    await sdkRoute("flaky", "my.app");
    // Per event: two 500s, one 429 with Retry-After: 1, then 200.
    const seen = new Map<string, number>();
    receiver.answer = (req) => {
      if (!req.url.startsWith("/flaky")) return { status: 200 };
      const id = (JSON.parse(req.body) as Json).id as string;
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      if (n <= 2) return { status: 500 };
      if (n === 3) return { status: 429, headers: { "Retry-After": "1" } };
      return { status: 200 };
    };
    const entries = Array.from({ length: 5 }, (_, i) => ({
      Source: "my.app",
      DetailType: "Tick",
      Detail: JSON.stringify({ i }),
    }));
    const put = await ok("events", "put-events", "--entries", JSON.stringify(entries));
    expect(put.FailedEntryCount).toBe(0);
    const ids = (put.Entries as Json[]).map((e) => e.EventId as string);
    await until(
      "every event accepted",
      () => (ids.every((id) => (seen.get(id) ?? 0) >= 4) ? true : undefined),
      30_000,
    );
    for (const id of ids) {
      const attempts = at("/flaky").filter((r) => (JSON.parse(r.body) as Json).id === id);
      expect(attempts).toHaveLength(4);
      // The same delivery: one webhook-id across its attempts.
      expect(new Set(attempts.map((a) => a.headers["webhook-id"])).size).toBe(1);
      const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
      // Retry 1 waits in [100, 200] ms, retry 2 in [200, 400] ms (base 200 ms, equal jitter);
      // retry 3 waits the Retry-After (1 s). Upper bounds allow for the poll and a loaded machine.
      expect(gaps[0]).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2 - 20);
      expect(gaps[0]).toBeLessThan(RETRY_BASE_MS + 1500);
      expect(gaps[1]).toBeGreaterThanOrEqual(RETRY_BASE_MS - 20);
      expect(gaps[1]).toBeLessThan(2 * RETRY_BASE_MS + 1500);
      expect(gaps[2]).toBeGreaterThanOrEqual(1000 - 20);
      expect(gaps[2]).toBeLessThan(1000 + 1500);
    }
    receiver.answer = () => ({ status: 200 });
  }, 60_000);

  it("a receiver that never answers: the deliveries end in the dead-letter store; redrive delivers them once it is back", async () => {
    await sdkRoute("down", "my.down", {
      RetryPolicy: { MaximumRetryAttempts: 2 },
      DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:123456789012:down-dlq" },
    });
    receiver.answer = (req) => (req.url.startsWith("/down") ? { status: 503 } : { status: 200 });
    const put = await ok(
      "events",
      "put-events",
      "--entries",
      JSON.stringify(
        [1, 2, 3].map((i) => ({ Source: "my.down", DetailType: "Ping", Detail: JSON.stringify({ i }) })),
      ),
    );
    const ids = (put.Entries as Json[]).map((e) => e.EventId as string);
    const list = await until("three dead letters", async () => {
      const out = await drydock("events", "dlq", "list", "--queue", "down-dlq", "--json");
      const letters = out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Json);
      return letters.length === 3 ? letters : undefined;
    });
    // One attempt and two retries each.
    expect(at("/down")).toHaveLength(9);
    expect(list.map((l) => l.event.id as string).sort()).toEqual([...ids].sort());
    expect(list.every((l) => l.attempts === 3 && l.rule === "down" && l.targetId === "down")).toBe(true);
    expect(await scrapeMetric(dd, "drydock_event_dead_letters")).toBeGreaterThanOrEqual(3);

    receiver.answer = () => ({ status: 200 });
    const before = at("/down").length;
    expect(await drydock("events", "dlq", "redrive", "--rule", "down")).toMatch(/^3 dead letters/);
    await until(
      "the redriven deliveries",
      () => (at("/down").length >= before + 3 ? true : undefined),
      30_000,
    );
    const redriven = at("/down")
      .slice(before)
      .map((r) => (JSON.parse(r.body) as Json).id as string);
    expect(redriven.sort()).toEqual([...ids].sort());
    expect((await drydock("events", "dlq", "list", "--queue", "down-dlq", "--json")).trim()).toBe("");
  }, 90_000);

  it("a command target runs the configured program with the transformed event on its standard input", async () => {
    await sdk.send(
      new PutRuleCommand({ Name: "to-command", EventPattern: JSON.stringify({ source: ["my.cmd"] }) }),
    );
    const put = await sdk.send(
      new PutTargetsCommand({
        Rule: "to-command",
        Targets: [
          {
            Id: "record",
            Arn: "arn:drydock:command:us-east-1:123456789012:record",
            InputTransformer: {
              InputPathsMap: { n: "$.detail.n" },
              InputTemplate: '{"n": <n>, "rule": "<aws.events.rule-name>"}',
            },
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    await sdk.send(
      new PutEventsCommand({
        Entries: [1, 2].map((n) => ({ Source: "my.cmd", DetailType: "Cmd", Detail: JSON.stringify({ n }) })),
      }),
    );
    const lines = await until("both events in the command's file", () => {
      const text = existsSync(RECORD_FILE) ? readFileSync(RECORD_FILE, "utf8") : "";
      const got = text.match(/\{[^}]*\}/g) ?? [];
      return got.length >= 2 ? got : undefined;
    });
    expect(lines.map((l) => JSON.parse(l) as Json).sort((a, b) => a.n - b.n)).toEqual([
      { n: 1, rule: "to-command" },
      { n: 2, rule: "to-command" },
    ]);
  }, 60_000);

  it("kill -9 with 1,000 deliveries pending: after the restart every event is delivered", async () => {
    await sdkRoute("bulk", "my.bulk");
    // The receiver holds every request: deliveries stay pending (in flight or waiting).
    receiver.answer = (req) => (req.url.startsWith("/bulk") ? "hang" : { status: 200 });
    const ids: string[] = [];
    for (let b = 0; b < 100; b++) {
      const entries = Array.from({ length: 10 }, (_, i) => ({
        Source: "my.bulk",
        DetailType: "Bulk",
        Detail: JSON.stringify({ n: b * 10 + i }),
      }));
      const put = await sdk.send(new PutEventsCommand({ Entries: entries }));
      expect(put.FailedEntryCount).toBe(0);
      ids.push(...put.Entries!.map((e) => e.EventId!));
    }
    expect(await scrapeMetric(dd, "drydock_event_deliveries_pending")).toBe(1000);
    await dd.kill9();
    receiver.answer = () => ({ status: 200 });
    const before = at("/bulk").length;
    dd = await startDrydock({ dataDir, config, port: Number(dd.addr.split(":")[1]) });
    await until(
      "all 1,000 deliveries after the restart",
      () =>
        new Set(
          at("/bulk")
            .slice(before)
            .map((r) => (JSON.parse(r.body) as Json).id),
        ).size >= 1000
          ? true
          : undefined,
      90_000,
    );
    const got = new Set(at("/bulk").map((r) => (JSON.parse(r.body) as Json).id as string));
    expect([...got].sort()).toEqual([...ids].sort());
    await until("nothing pending", async () =>
      (await scrapeMetric(dd, "drydock_event_deliveries_pending")) === 0 ? true : undefined,
    );
    expect(serverProblems(dd).filter((l) => !/dead-lettered|plain http/.test(l))).toEqual([]);
  }, 180_000);
});
