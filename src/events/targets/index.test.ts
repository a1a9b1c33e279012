import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { StoredApiDestination, StoredConnection } from "../../storage/meta/bus-store.js";
import type { EventEnvelope } from "../envelope.js";
import { newSigningSecret } from "../webhook-signature.js";
import {
  closeSharedAgents,
  createTarget,
  deliveredInTransaction,
  OAuthTokenCache,
  parseTargetArn,
  TARGET_KINDS,
  TargetUnavailableError,
  type TargetDeps,
} from "./index.js";

afterAll(() => closeSharedAgents());

const request = {
  body: "{}",
  event: { id: "e1" } as EventEnvelope,
  deliveryId: "msg_1_1",
  attempt: 1,
};

function deps(d: Partial<TargetDeps> = {}): TargetDeps {
  return {
    apiDestination: () => Promise.resolve(undefined),
    commands: {},
    timeoutMs: 2000,
    userAgent: "drydock-test",
    oauth: new OAuthTokenCache(),
    ...d,
  };
}

const arn = (s: string) => parseTargetArn(s)!;

describe("the target registry", () => {
  it("lists every kind the ARN parser knows", () => {
    expect(Object.keys(TARGET_KINDS).sort()).toEqual(["api-destination", "command", "event-bus"]);
    expect(deliveredInTransaction("event-bus")).toBe(true);
    expect(deliveredInTransaction("api-destination")).toBe(false);
    expect(deliveredInTransaction("command")).toBe(false);
  });

  it("builds a configured command target", async () => {
    const t = await createTarget(
      arn("arn:drydock:command:us-east-1:123456789012:ok"),
      {},
      deps({ commands: { ok: { argv: ["true"], timeoutSeconds: 5 } } }),
    );
    expect(await t.send(request, new AbortController().signal)).toEqual({ ok: true });
  });

  it("builds an API destination target from the looked-up records", async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const dest: StoredApiDestination = {
        name: "hook",
        description: null,
        connectionName: "c",
        endpoint: `http://127.0.0.1:${port}/in`,
        httpMethod: "POST",
        invocationRateLimitPerSecond: 10,
        state: "ACTIVE",
        createdAt: 0,
        updatedAt: 0,
      };
      const conn: StoredConnection = {
        name: "c",
        description: null,
        authorizationType: "BASIC",
        authParameters: { BasicAuthParameters: { Username: "u", Password: "p" } },
        state: "AUTHORIZED",
        stateReason: null,
        signingSecret: newSigningSecret(),
        previousSigningSecret: null,
        rotatedAt: null,
        createdAt: 0,
        updatedAt: 0,
        lastAuthorizedAt: null,
      };
      const asked: string[] = [];
      const t = await createTarget(
        arn("arn:aws:events:us-east-1:123456789012:api-destination/hook/0000-1111"),
        { HttpParameters: { QueryStringParameters: { a: "b" } } },
        deps({
          apiDestination: (name) => {
            asked.push(name);
            return Promise.resolve({ dest, conn });
          },
        }),
      );
      expect(await t.send(request, new AbortController().signal)).toEqual({ ok: true, status: 200 });
      expect(asked).toEqual(["hook"]);
      expect(seen).toEqual(["POST /in?a=b"]);
    } finally {
      server.close();
    }
  });

  it("rejects with TargetUnavailableError for what does not exist", async () => {
    for (const a of [
      "arn:aws:events:us-east-1:123456789012:api-destination/gone",
      "arn:drydock:command:us-east-1:123456789012:unconfigured",
      "arn:drydock:command:us-east-1:123456789012:constructor", // not a configured name, whatever Object has
    ]) {
      const err = await createTarget(arn(a), {}, deps()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetUnavailableError);
      expect((err as TargetUnavailableError).result).toMatchObject({
        ok: false,
        retryable: false,
        code: "NO_RESOURCE",
      });
    }
  });

  it("refuses to build an event-bus target (delivery forwards those itself)", async () => {
    const err = await createTarget(
      arn("arn:aws:events:us-east-1:123456789012:event-bus/b"),
      {},
      deps(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TargetUnavailableError);
  });
});
