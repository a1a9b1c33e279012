import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandArn, parseDeadLetterArn, parseTargetArn } from "./arn.js";

describe("parseTargetArn", () => {
  it("reads API destination ARNs with and without AWS's resource id", () => {
    expect(
      parseTargetArn(
        "arn:aws:events:us-east-1:123456789012:api-destination/pager/4f0a9e3c-8e4f-4b8a-9a57-0c0d1e2f3a4b",
      ),
    ).toEqual({ kind: "api-destination", name: "pager", region: "us-east-1", account: "123456789012" });
    expect(parseTargetArn("arn:aws:events:eu-west-2:000000000000:api-destination/a.b-c_D")).toEqual({
      kind: "api-destination",
      name: "a.b-c_D",
      region: "eu-west-2",
      account: "000000000000",
    });
  });

  it("reads event bus and command ARNs", () => {
    expect(parseTargetArn("arn:aws:events:us-east-1:123456789012:event-bus/ops")).toEqual({
      kind: "event-bus",
      name: "ops",
      region: "us-east-1",
      account: "123456789012",
    });
    expect(parseTargetArn(commandArn("us-east-1", "123456789012", "notify"))).toEqual({
      kind: "command",
      name: "notify",
      region: "us-east-1",
      account: "123456789012",
    });
    expect(parseTargetArn("arn:aws-cn:events:cn-north-1:123456789012:event-bus/default")?.kind).toBe(
      "event-bus",
    );
  });

  it("refuses anything else", () => {
    for (const bad of [
      "",
      "arn:aws:events:us-east-1:123456789012:rule/x",
      "arn:aws:events:us-east-1:12345678901:event-bus/x", // 11-digit account
      "arn:aws:events:US-EAST-1:123456789012:event-bus/x",
      "arn:aws:events:us-east-1:123456789012:event-bus/",
      "arn:aws:events:us-east-1:123456789012:event-bus/a/b",
      "arn:aws:events:us-east-1:123456789012:api-destination/a/b/c",
      `arn:aws:events:us-east-1:123456789012:api-destination/${"a".repeat(65)}`,
      `arn:drydock:command:us-east-1:123456789012:${"a".repeat(65)}`,
      "arn:drydock:command:us-east-1:123456789012:a b",
      "arn:drydock:command:us-east-1:123456789012:a;rm -rf /",
      "arn:aws:lambda:us-east-1:123456789012:function:f",
      "arn:aws:events:us-east-1:123456789012:event-bus/x\n",
    ]) {
      expect(parseTargetArn(bad), bad).toBeUndefined();
    }
    expect(parseTargetArn(`arn:drydock:command:us-east-1:123456789012:${"a".repeat(64)}`)?.name).toHaveLength(
      64,
    );
  });

  it("never throws and only returns names of the allowed characters", () => {
    const arnLike = fc.oneof(
      fc.string(),
      fc
        .tuple(
          fc.constantFrom("arn:aws:events:", "arn:drydock:command:", "arn:aws:sqs:", "arn:drydock:dlq:"),
          fc.constantFrom("us-east-1:", "x:", ""),
          fc.constantFrom("123456789012:", "1:"),
          fc.constantFrom("event-bus/", "api-destination/", ""),
          fc.string(),
        )
        .map((p) => p.join("")),
    );
    fc.assert(
      fc.property(arnLike, (s) => {
        const t = parseTargetArn(s);
        if (t) expect(t.name).toMatch(/^[.\-_A-Za-z0-9]{1,256}$/);
        const q = parseDeadLetterArn(s);
        if (q !== undefined) expect(q).toMatch(/^[.\-_A-Za-z0-9]{1,80}$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("parseDeadLetterArn", () => {
  it("maps Drydock and SQS ARNs to the store's name", () => {
    expect(parseDeadLetterArn("arn:drydock:dlq:us-east-1:123456789012:failed")).toBe("failed");
    expect(parseDeadLetterArn("arn:aws:sqs:us-east-1:123456789012:my-queue_1")).toBe("my-queue_1");
    expect(parseDeadLetterArn("arn:aws:sqs:us-east-1:123456789012:orders.fifo")).toBe("orders.fifo");
    expect(parseDeadLetterArn(`arn:aws:sqs:us-east-1:123456789012:${"q".repeat(80)}`)).toHaveLength(80);
  });

  it("refuses other ARNs and bad names", () => {
    for (const bad of [
      "arn:aws:sqs:us-east-1:123456789012:",
      `arn:aws:sqs:us-east-1:123456789012:${"q".repeat(81)}`,
      "arn:aws:sqs:us-east-1:123456789012:a.b", // only .fifo may carry a dot
      "arn:aws:sqs:us-east-1:123456789012:.fifo",
      `arn:drydock:dlq:us-east-1:123456789012:${"d".repeat(65)}`,
      "arn:aws:sns:us-east-1:123456789012:topic",
      "arn:drydock:dlq:us-east-1:123456789012:a/b",
    ]) {
      expect(parseDeadLetterArn(bad), bad).toBeUndefined();
    }
  });
});
