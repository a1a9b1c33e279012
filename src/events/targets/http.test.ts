import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { StoredApiDestination, StoredConnection } from "../../storage/meta/bus-store.js";
import type { EventEnvelope } from "../envelope.js";
import { newSigningSecret, verifyWebhook } from "../webhook-signature.js";
import { apiDestinationTarget, type ApiDestinationOptions } from "./http.js";
import { closeSharedAgents, parseRetryAfter } from "./http-request.js";
import { OAuthTokenCache } from "./oauth.js";
import type { DeliveryRequest } from "./types.js";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: number;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const servers: { close(): Promise<void> }[] = [];

/** A receiver on a free port: records requests and answers with `handler`. */
async function receiver(handler: Handler = (_q, res) => res.end("ok"), tls?: { key: string; cert: string }) {
  const seen: Seen[] = [];
  const sockets = new WeakMap<object, number>();
  let nextSocket = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, nextSocket++);
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body,
        socket: sockets.get(req.socket)!,
      });
      handler(req, res, body);
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const s = {
    seen,
    port,
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    sockets: () => nextSocket,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  servers.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => closeSharedAgents());

const NOW = Date.UTC(2026, 11, 7, 4, 0, 0);

function connection(c: Partial<StoredConnection> = {}): StoredConnection {
  return {
    name: "conn",
    description: null,
    authorizationType: "API_KEY",
    authParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "key-secret-1234" } },
    state: "AUTHORIZED",
    stateReason: null,
    signingSecret: newSigningSecret(),
    previousSigningSecret: null,
    rotatedAt: null,
    createdAt: NOW - 1000,
    updatedAt: NOW - 1000,
    lastAuthorizedAt: null,
    ...c,
  };
}

function destination(endpoint: string, d: Partial<StoredApiDestination> = {}): StoredApiDestination {
  return {
    name: "dest",
    description: null,
    connectionName: "conn",
    endpoint,
    httpMethod: "POST",
    invocationRateLimitPerSecond: 300,
    state: "ACTIVE",
    createdAt: NOW,
    updatedAt: NOW,
    ...d,
  };
}

const event: EventEnvelope = {
  version: "0",
  id: "0d0e0f00-0000-4000-8000-000000000001",
  "detail-type": "ECR Image Scan",
  source: "aws.ecr",
  account: "123456789012",
  time: "2026-12-07T04:00:00Z",
  region: "us-east-1",
  resources: [],
  detail: { "scan-status": "COMPLETE" },
};

function request(body = JSON.stringify(event), deliveryId = "msg_1_1"): DeliveryRequest {
  return { body, event, deliveryId, attempt: 1 };
}

function options(o: Partial<ApiDestinationOptions> = {}): ApiDestinationOptions {
  return {
    timeoutMs: 2000,
    userAgent: "drydock-test/1",
    oauth: new OAuthTokenCache({ now: () => NOW }),
    now: () => NOW,
    ...o,
  };
}

const live = () => new AbortController().signal;

describe("API destination requests", () => {
  it("sends the body with the method, path parameters, query strings and headers; the connection's values win", async () => {
    const r = await receiver();
    const conn = connection({
      authParameters: {
        ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "key-secret-1234" },
        InvocationHttpParameters: {
          HeaderParameters: [
            { Key: "X-Team", Value: "from-connection", IsValueSecret: false },
            { Key: "Host", Value: "evil.example", IsValueSecret: false },
          ],
          QueryStringParameters: [{ Key: "token", Value: "q-secret-9876", IsValueSecret: true }],
          BodyParameters: [{ Key: "routing_key", Value: "R1", IsValueSecret: true }],
        },
      },
    });
    const target = apiDestinationTarget(
      destination(`${r.url}/hooks/*/items/*?fixed=1`, { httpMethod: "put" }),
      conn,
      {
        Id: "t1",
        Arn: "arn:aws:events:us-east-1:123456789012:api-destination/dest",
        HttpParameters: {
          PathParameterValues: ["team a", "../x?y"],
          QueryStringParameters: { page: "2", token: "from-target" },
          HeaderParameters: { "X-Team": "from-target", "X-Extra": "e", "webhook-id": "forged" },
        },
      },
      options(),
    );
    const res = await target.send(request('{"a":1}'), live());
    expect(res).toEqual({ ok: true, status: 200 });
    const s = r.seen[0]!;
    expect(s.method).toBe("PUT");
    const url = new URL(s.url, r.url);
    expect(url.pathname).toBe("/hooks/team%20a/items/..%2Fx%3Fy");
    expect(Object.fromEntries(url.searchParams)).toEqual({ fixed: "1", page: "2", token: "q-secret-9876" });
    expect(s.headers["x-team"]).toBe("from-connection");
    expect(s.headers["x-extra"]).toBe("e");
    expect(s.headers.host).toBe(`127.0.0.1:${r.port}`);
    expect(s.headers["x-api-key"]).toBe("key-secret-1234");
    expect(s.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(s.headers["user-agent"]).toBe("drydock-test/1");
    expect(s.headers["webhook-id"]).toBe("msg_1_1");
    expect(JSON.parse(s.body)).toEqual({ a: 1, routing_key: "R1" });
    verifyWebhook(conn.signingSecret, s.headers as Record<string, string>, s.body, { now: NOW });
  });

  it("sends no body with GET, and signs the empty body", async () => {
    const r = await receiver();
    const conn = connection();
    const target = apiDestinationTarget(
      destination(`${r.url}/g`, { httpMethod: "GET" }),
      conn,
      {},
      options(),
    );
    expect((await target.send(request(), live())).ok).toBe(true);
    expect(r.seen[0]!.method).toBe("GET");
    expect(r.seen[0]!.body).toBe("");
    verifyWebhook(conn.signingSecret, r.seen[0]!.headers as Record<string, string>, "", { now: NOW });
  });

  it("uses Basic auth", async () => {
    const r = await receiver();
    const conn = connection({
      authorizationType: "BASIC",
      authParameters: { BasicAuthParameters: { Username: "u", Password: "p:ss" } },
    });
    await apiDestinationTarget(destination(r.url), conn, {}, options()).send(request(), live());
    expect(r.seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from("u:p:ss").toString("base64")}`);
  });

  it("signs with the previous secret too for a day after a rotation", async () => {
    const r = await receiver();
    const [current, previous] = [newSigningSecret(), newSigningSecret()];
    const rotated = (rotatedAt: number) =>
      apiDestinationTarget(
        destination(r.url),
        connection({ signingSecret: current, previousSigningSecret: previous, rotatedAt }),
        {},
        options(),
      ).send(request(), live());
    await rotated(NOW - 23 * 3600_000);
    await rotated(NOW - 25 * 3600_000);
    const [within, after] = r.seen;
    expect(String(within!.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    verifyWebhook(previous, within!.headers as Record<string, string>, within!.body, { now: NOW });
    verifyWebhook(current, within!.headers as Record<string, string>, within!.body, { now: NOW });
    expect(String(after!.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(() =>
      verifyWebhook(previous, after!.headers as Record<string, string>, after!.body, { now: NOW }),
    ).toThrow();
    verifyWebhook(current, after!.headers as Record<string, string>, after!.body, { now: NOW });
  });

  it("reuses kept-alive connections", async () => {
    const r = await receiver();
    const target = apiDestinationTarget(destination(r.url), connection(), {}, options());
    for (let i = 0; i < 20; i++) expect((await target.send(request(), live())).ok).toBe(true);
    await Promise.all(Array.from({ length: 20 }, () => target.send(request(), live())));
    expect(r.seen).toHaveLength(40);
    expect(r.sockets()).toBeLessThanOrEqual(21);
    expect(r.seen.slice(0, 20).every((s) => s.socket === r.seen[0]!.socket)).toBe(true);
  });

  it("fails a path with more wildcards than values, and a bad endpoint, without retrying", async () => {
    const bad = [
      apiDestinationTarget(
        destination("http://127.0.0.1:9/*/*"),
        connection(),
        { HttpParameters: { PathParameterValues: ["a"] } },
        options(),
      ),
      apiDestinationTarget(destination("ftp://example.com/x"), connection(), {}, options()),
      apiDestinationTarget(
        destination("http://127.0.0.1:9/"),
        connection({ signingSecret: "" }),
        {},
        options(),
      ),
    ];
    for (const t of bad) {
      const res = await t.send(request(), live());
      expect(res).toMatchObject({ ok: false, retryable: false, code: "INVALID_PARAMETER" });
    }
  });
});

describe("classification", () => {
  const cases: [number, boolean | "ok"][] = [
    [200, "ok"],
    [201, "ok"],
    [204, "ok"],
    [301, false],
    [400, false],
    [401, true],
    [403, false],
    [404, false],
    [407, true],
    [409, true],
    [410, false],
    [429, true],
    [500, true],
    [503, true],
  ];
  it.each(cases)("%i → %s", async (status, expected) => {
    const r = await receiver((_q, res) => {
      if (status === 301) res.setHeader("location", "http://127.0.0.1:1/elsewhere");
      res.writeHead(status).end(status >= 400 ? `error ${status}` : "");
    });
    const res = await apiDestinationTarget(
      destination(`${r.url}/x?apikey=hidden`),
      connection(),
      {},
      options(),
    ).send(request(), live());
    if (expected === "ok") {
      expect(res).toEqual({ ok: true, status });
      return;
    }
    expect(res).toMatchObject({ ok: false, retryable: expected, code: `HTTP_${status}`, status });
    const message = (res as { message: string }).message;
    expect(message).toContain(`POST ${r.url}/x answered ${status}`);
    expect(message).not.toContain("hidden");
    if (status === 301) expect(message).toContain("redirects are not followed");
    if (status >= 400) expect(message).toContain(`error ${status}`);
    expect(r.seen).toHaveLength(1); // no redirect followed
  });

  it("reads Retry-After in seconds and as an HTTP date", async () => {
    const date = new Date(NOW + 90_000).toUTCString();
    const r = await receiver((req, res) => {
      res.writeHead(req.url === "/s" ? 429 : 503, { "retry-after": req.url === "/s" ? "7" : date }).end();
    });
    const send = (path: string) =>
      apiDestinationTarget(destination(`${r.url}${path}`), connection(), {}, options()).send(
        request(),
        live(),
      );
    expect(await send("/s")).toMatchObject({
      ok: false,
      retryable: true,
      code: "HTTP_429",
      retryAfterMs: 7000,
    });
    expect(await send("/d")).toMatchObject({
      ok: false,
      retryable: true,
      code: "HTTP_503",
      retryAfterMs: 90_000,
    });
  });

  it("never puts the connection's secrets in a message, even when the receiver echoes them", async () => {
    const r = await receiver((req, res) =>
      res.writeHead(400).end(`bad key ${String(req.headers["x-api-key"])}`),
    );
    const res = await apiDestinationTarget(destination(r.url), connection(), {}, options()).send(
      request(),
      live(),
    );
    expect(res).toMatchObject({ ok: false, retryable: false, code: "HTTP_400" });
    expect((res as { message: string }).message).toContain("bad key ***");
    expect(JSON.stringify(res)).not.toContain("key-secret-1234");
  });

  it("times out a receiver that does not answer (retryable)", async () => {
    const r = await receiver(() => undefined);
    const t0 = Date.now();
    const res = await apiDestinationTarget(
      destination(r.url),
      connection(),
      {},
      options({ timeoutMs: 300 }),
    ).send(request(), live());
    expect(res).toMatchObject({ ok: false, retryable: true, code: "TIMEOUT" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("reports a refused connection as a connection failure (retryable)", async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    const res = await apiDestinationTarget(destination(url), connection(), {}, options()).send(
      request(),
      live(),
    );
    expect(res).toMatchObject({ ok: false, retryable: true, code: "CONNECTION_FAILURE" });
    expect((res as { message: string }).message).toContain("ECONNREFUSED");
  });

  it("stops when the signal aborts (retryable)", async () => {
    const r = await receiver(() => undefined);
    const abort = new AbortController();
    const pending = apiDestinationTarget(destination(r.url), connection(), {}, options()).send(
      request(),
      abort.signal,
    );
    setTimeout(() => abort.abort(), 50);
    expect(await pending).toMatchObject({ ok: false, retryable: true, code: "ABORTED" });
    const already = new AbortController();
    already.abort();
    expect(
      await apiDestinationTarget(destination(r.url), connection(), {}, options()).send(
        request(),
        already.signal,
      ),
    ).toMatchObject({ ok: false, retryable: true, code: "ABORTED" });
  });

  it("does not hang on a huge response body", async () => {
    const r = await receiver((_q, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 120);
      let n = 0;
      const more = (): void => {
        while (n++ < 64) if (!res.write(chunk)) return void res.once("drain", more);
        res.end();
      };
      more();
    });
    const res = await apiDestinationTarget(destination(r.url), connection(), {}, options()).send(
      request(),
      live(),
    );
    expect(res).toEqual({ ok: true, status: 200 });
  });

  it("parseRetryAfter never throws and gives a non-negative delay or nothing", () => {
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter(" 12 ", NOW)).toBe(12_000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", NOW)).toBe(0);
    for (const bad of [undefined, "", "-1", "1.5", "soon", "2026-12-07", "12abc"]) {
      expect(parseRetryAfter(bad, NOW), String(bad)).toBeUndefined();
    }
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
        ),
        (s) => {
          const v = parseRetryAfter(s, NOW);
          if (v !== undefined) expect(v).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe("OAuth client credentials", () => {
  async function authServer(expiresIn: number | undefined = 3600, status = 200) {
    let issued = 0;
    const s = await receiver((_q, res) => {
      issued++;
      if (status !== 200) return void res.writeHead(status).end("no");
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ access_token: `tok-${issued}`, token_type: "Bearer", expires_in: expiresIn }));
    });
    return { ...s, issued: () => issued };
  }

  function oauthConnection(endpoint: string): StoredConnection {
    return connection({
      authorizationType: "OAUTH_CLIENT_CREDENTIALS",
      authParameters: {
        OAuthParameters: {
          AuthorizationEndpoint: endpoint,
          HttpMethod: "POST",
          ClientParameters: { ClientID: "client-1", ClientSecret: "client-secret-5678" },
          OAuthHttpParameters: {
            BodyParameters: [{ Key: "scope", Value: "events:write", IsValueSecret: false }],
            HeaderParameters: [{ Key: "X-Tenant", Value: "t1", IsValueSecret: false }],
          },
        },
      },
    });
  }

  it("fetches a token once, sends it as Bearer, and shares it across sends", async () => {
    const auth = await authServer();
    const r = await receiver();
    const conn = oauthConnection(`${auth.url}/oauth/token`);
    const o = options();
    const target = apiDestinationTarget(destination(r.url), conn, {}, o);
    await Promise.all([1, 2, 3].map(() => target.send(request(), live())));
    await apiDestinationTarget(destination(r.url), conn, {}, o).send(request(), live());
    expect(auth.issued()).toBe(1);
    expect(r.seen.map((s) => s.headers.authorization)).toEqual(Array(4).fill("Bearer tok-1"));
    const tokenReq = auth.seen[0]!;
    expect(tokenReq.method).toBe("POST");
    expect(tokenReq.headers.authorization).toBe(
      `Basic ${Buffer.from("client-1:client-secret-5678").toString("base64")}`,
    );
    expect(tokenReq.headers["x-tenant"]).toBe("t1");
    expect(tokenReq.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(tokenReq.body))).toEqual({
      grant_type: "client_credentials",
      scope: "events:write",
    });
  });

  it("drops the token after a 401 and fetches a new one for the next attempt", async () => {
    const auth = await authServer();
    let refuse = true;
    const r = await receiver((_q, res) => {
      res.writeHead(refuse ? 401 : 200).end();
      refuse = false;
    });
    const conn = oauthConnection(auth.url);
    const target = apiDestinationTarget(destination(r.url), conn, {}, options());
    expect(await target.send(request(), live())).toMatchObject({
      ok: false,
      retryable: true,
      code: "HTTP_401",
    });
    expect(await target.send(request(), live())).toEqual({ ok: true, status: 200 });
    expect(r.seen.map((s) => s.headers.authorization)).toEqual(["Bearer tok-1", "Bearer tok-2"]);
  });

  it("refreshes a minute before expires_in, and after the connection changes", async () => {
    const auth = await authServer(120);
    const r = await receiver();
    let now = NOW;
    const o = options({ now: () => now, oauth: new OAuthTokenCache({ now: () => now }) });
    const conn = oauthConnection(auth.url);
    const send = (c = conn) => apiDestinationTarget(destination(r.url), c, {}, o).send(request(), live());
    await send();
    now += 59_000;
    await send();
    now += 2_000; // 61 s in: within the last minute of the token's two
    await send();
    await send({ ...conn, updatedAt: conn.updatedAt + 1 });
    expect(r.seen.map((s) => s.headers.authorization)).toEqual([
      "Bearer tok-1",
      "Bearer tok-1",
      "Bearer tok-2",
      "Bearer tok-3",
    ]);
  });

  it("reports token endpoint failures: 5xx retryable, 4xx not, no secret in the message", async () => {
    const r = await receiver();
    for (const [status, retryable] of [
      [500, true],
      [400, false],
      [401, false],
    ] as const) {
      const auth = await authServer(3600, status);
      const res = await apiDestinationTarget(
        destination(r.url),
        oauthConnection(auth.url),
        {},
        options(),
      ).send(request(), live());
      expect(res).toMatchObject({ ok: false, retryable, code: `OAUTH_HTTP_${status}` });
      expect(JSON.stringify(res)).not.toContain("client-secret-5678");
    }
    const noToken = await receiver((_q, res) => res.end("{}"));
    expect(
      await apiDestinationTarget(destination(r.url), oauthConnection(noToken.url), {}, options()).send(
        request(),
        live(),
      ),
    ).toMatchObject({ ok: false, retryable: false, code: "OAUTH_INVALID_RESPONSE" });
    expect(r.seen).toHaveLength(0);
  });
});

describe("HTTPS", () => {
  let dir: string | undefined;
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  function selfSigned(): { key: string; cert: string } | undefined {
    dir = mkdtempSync(join(tmpdir(), "drydock-tls-"));
    try {
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
        { stdio: "ignore" },
      );
    } catch {
      return undefined;
    }
    return {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    };
  }

  it("delivers over TLS to a receiver whose certificate the agent trusts, and fails (retryable) otherwise", async (ctx) => {
    const tls = selfSigned();
    if (!tls) return ctx.skip();
    const r = await receiver(undefined, tls);
    const agents = { http: new http.Agent(), https: new https.Agent({ keepAlive: true, ca: tls.cert }) };
    const conn = connection();
    const ok = await apiDestinationTarget(destination(r.url), conn, {}, options({ agents })).send(
      request(),
      live(),
    );
    expect(ok).toEqual({ ok: true, status: 200 });
    verifyWebhook(conn.signingSecret, r.seen[0]!.headers as Record<string, string>, r.seen[0]!.body, {
      now: NOW,
    });
    const untrusted = await apiDestinationTarget(destination(r.url), conn, {}, options()).send(
      request(),
      live(),
    );
    expect(untrusted).toMatchObject({ ok: false, retryable: true, code: "CONNECTION_FAILURE" });
    agents.https.destroy();
  });
});
