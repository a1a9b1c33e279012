import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema, type Config } from "../config/schema.js";
import { silentLogger } from "../core/logger.js";
import { openStores, type Stores } from "../storage/open.js";
import { RegistryService } from "../registry/service.js";
import { buildServer } from "../server.js";
import { createAuth } from "./index.js";
import { hashPassword } from "./password.js";
import { TOKEN_KEY_FILE } from "./secret.js";

/**
 * The whole access-control path in one process: createAuth wired into the real server,
 * driven with Fastify's inject (no sockets). Real clients are in test/e2e/auth.test.ts.
 */
const HOST = "registry.test:5000";
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function makeConfig(data: string, extra: Record<string, unknown> = {}): Promise<Config> {
  const hash = await hashPassword("s3cret");
  return configSchema.parse({
    data,
    auth: {
      users: [
        {
          username: "alice",
          passwordHash: hash,
          access: [
            { repository: "team/**", actions: ["pull"] },
            { repository: "alice/*", actions: ["pull", "push", "delete"] },
          ],
        },
        {
          username: "bob",
          passwordHash: hash,
          access: [{ repository: "bob/**", actions: ["pull", "push"] }],
        },
        { username: "admin", passwordHash: hash, access: [{ repository: "**", actions: ["pull", "push"] }] },
      ],
      ...extra,
    },
  });
}

describe("createAuth", () => {
  it("is open without users", async () => {
    const auth = await createAuth(configSchema.parse({}), "/nonexistent");
    expect(auth.authorizer.open).toBe(true);
    expect(auth.routes).toBeUndefined();
  });

  it("rejects usernames with a colon and duplicates", async () => {
    const hash = await hashPassword("x");
    const dup = configSchema.parse({
      auth: {
        users: [
          { username: "a", passwordHash: hash },
          { username: "a", passwordHash: hash },
        ],
      },
    });
    await expect(createAuth(dup, "/nonexistent")).rejects.toThrow(/appears twice/);
    const colon = configSchema.parse({ auth: { users: [{ username: "a:b", passwordHash: hash }] } });
    await expect(createAuth(colon, "/nonexistent")).rejects.toThrow(/contains ":"/);
  });
});

describe("access control through the server", () => {
  let dir: string;
  let stores: Stores;
  let app: FastifyInstance;
  let config: Config;
  const blob = Buffer.from("a small blob for mount tests\n");
  const blobDigest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-auth-"));
    config = await makeConfig(dir);
    stores = await openStores(config);
    const auth = await createAuth(config, dir);
    const service = new RegistryService(stores.meta, stores.blobs, { ...config.registry, aws: config.aws });
    app = buildServer({
      service,
      auth: auth.authorizer,
      log: silentLogger(),
      maxManifestBytes: config.registry.maxManifestBytes,
      extraRoutes: auth.routes,
    }).app;
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await stores?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = (url: string, authorization?: string) =>
    app.inject({ method: "GET", url, headers: { host: HOST, ...(authorization ? { authorization } : {}) } });
  const token = async (user: string, scopes: string[], password = "s3cret") => {
    const q = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join("&");
    const r = await get(`/token?service=drydock&${q}`, basic(user, password));
    expect(r.statusCode, r.body).toBe(200);
    return r.json<{
      token: string;
      access_token: string;
      expires_in: number;
      issued_at: string;
      scope: string;
    }>();
  };
  const claims = (t: string) =>
    JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;

  it("challenges GET /v2/ without credentials", async () => {
    const r = await get("/v2/");
    expect(r.statusCode).toBe(401);
    expect(r.headers["www-authenticate"]).toBe(`Bearer realm="http://${HOST}/token",service="drydock"`);
    expect(r.json<{ errors: { code: string }[] }>().errors[0]!.code).toBe("UNAUTHORIZED");
  });

  it("names the needed scope in the challenge", async () => {
    const pull = await get("/v2/team/app/manifests/latest");
    expect(pull.headers["www-authenticate"]).toBe(
      `Bearer realm="http://${HOST}/token",service="drydock",scope="repository:team/app:pull"`,
    );
    const push = await app.inject({
      method: "POST",
      url: "/v2/team/app/blobs/uploads/",
      headers: { host: HOST },
    });
    expect(push.statusCode).toBe(401);
    expect(push.headers["www-authenticate"]).toContain('scope="repository:team/app:pull,push"');
    const head = await app.inject({
      method: "HEAD",
      url: "/v2/team/app/manifests/x",
      headers: { host: HOST },
    });
    expect(head.statusCode).toBe(401);
    expect(head.headers["www-authenticate"]).toContain("Bearer realm=");
  });

  it("accepts Basic credentials directly and refuses a wrong password", async () => {
    expect((await get("/v2/", basic("alice", "s3cret"))).statusCode).toBe(200);
    const wrong = await get("/v2/", basic("alice", "nope"));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers["www-authenticate"]).toContain("Bearer realm=");
    expect((await get("/v2/", basic("mallory", "s3cret"))).statusCode).toBe(401);
    expect((await get("/v2/", "Basic !!!")).statusCode).toBe(401);
    expect((await get("/v2/", "Digest foo")).statusCode).toBe(401);
  });

  it("answers 403 DENIED to valid Basic credentials outside the user's rules", async () => {
    const r = await get("/v2/bob/app/tags/list", basic("alice", "s3cret"));
    expect(r.statusCode).toBe(403);
    expect(r.json<{ errors: { code: string }[] }>().errors[0]!.code).toBe("DENIED");
    const push = await app.inject({
      method: "POST",
      url: "/v2/team/app/blobs/uploads/",
      headers: { host: HOST, authorization: basic("alice", "s3cret") },
    });
    expect(push.statusCode).toBe(403);
    // Only the missing action is named (and the text is not the spec's bare default: see denied()).
    expect(push.json<{ errors: { message: string }[] }>().errors[0]!.message).toBe(
      "requested access to the resource is denied: repository:team/app:push",
    );
    // Allowed: pull on team/** reaches the registry (404: no such repository yet).
    expect((await get("/v2/team/app/tags/list", basic("alice", "s3cret"))).statusCode).toBe(404);
  });

  it("issues tokens with the requested scopes intersected with the rules", async () => {
    const t = await token("alice", [
      "repository:team/app:pull,push",
      "repository:alice/app:pull,push",
      "repository:bob/app:pull",
      "registry:catalog:*",
    ]);
    expect(t.token).toBe(t.access_token);
    expect(t.expires_in).toBe(300);
    expect(Date.parse(t.issued_at)).toBeGreaterThan(Date.now() - 60_000);
    const c = claims(t.token);
    expect(c).toMatchObject({ iss: "drydock", sub: "alice", aud: "drydock" });
    expect((c.exp as number) - (c.iat as number)).toBe(300);
    expect(typeof c.jti).toBe("string");
    expect(c.access).toEqual([
      { type: "repository", name: "team/app", actions: ["pull"] },
      { type: "repository", name: "alice/app", actions: ["pull", "push"] },
    ]);
    expect(t.scope).toBe("repository:team/app:pull repository:alice/app:pull,push");
  });

  it("refuses token requests without valid Basic credentials", async () => {
    const anon = await get("/token?service=drydock&scope=repository:team/app:pull");
    expect(anon.statusCode).toBe(401);
    expect(anon.headers["www-authenticate"]).toBe('Basic realm="drydock"');
    expect((await get("/token?service=drydock", basic("alice", "wrong"))).statusCode).toBe(401);
    expect((await get("/token?service=drydock", "Bearer abc")).statusCode).toBe(401);
    const mismatch = await get("/token?service=drydock&account=bob", basic("alice", "s3cret"));
    expect(mismatch.statusCode).toBe(400);
    expect((await get("/token?service=drydock&account=alice", basic("alice", "s3cret"))).statusCode).toBe(
      200,
    );
  });

  it("accepts a bearer token within its scope", async () => {
    const t = await token("alice", ["repository:alice/app:pull,push"]);
    expect((await get("/v2/", `Bearer ${t.token}`)).statusCode).toBe(200);
    expect((await get("/v2/alice/app/tags/list", `Bearer ${t.token}`)).statusCode).toBe(404);
    const up = await app.inject({
      method: "POST",
      url: "/v2/alice/app/blobs/uploads/",
      headers: { host: HOST, authorization: `Bearer ${t.token}` },
    });
    expect(up.statusCode).toBe(202);
  });

  it("answers 401 insufficient_scope to a token lacking scope the rules allow", async () => {
    const t = await token("alice", ["repository:alice/app:pull"]);
    const r = await app.inject({
      method: "POST",
      url: "/v2/alice/app/blobs/uploads/",
      headers: { host: HOST, authorization: `Bearer ${t.token}` },
    });
    expect(r.statusCode).toBe(401);
    expect(r.headers["www-authenticate"]).toBe(
      `Bearer realm="http://${HOST}/token",service="drydock",scope="repository:alice/app:pull,push",error="insufficient_scope"`,
    );
  });

  it("answers 403 to a token for a repository outside the rules", async () => {
    const t = await token("alice", ["repository:bob/app:pull"]);
    expect(claims(t.token).access).toEqual([]);
    expect((await get("/v2/bob/app/tags/list", `Bearer ${t.token}`)).statusCode).toBe(403);
  });

  it("rejects tampered, foreign and malformed tokens with invalid_token", async () => {
    const t = await token("alice", ["repository:alice/app:pull"]);
    const [h, , s] = t.token.split(".");
    const forged = Buffer.from(
      JSON.stringify({
        ...claims(t.token),
        access: [{ type: "repository", name: "bob/app", actions: ["pull"] }],
      }),
    ).toString("base64url");
    for (const bad of [`${h}.${forged}.${s}`, "not-a-token", `${t.token}x`]) {
      const r = await get("/v2/alice/app/tags/list", `Bearer ${bad}`);
      expect(r.statusCode).toBe(401);
      expect(r.headers["www-authenticate"]).toContain('error="invalid_token"');
    }
  });

  it("lists the catalog only for users who may pull every repository", async () => {
    expect((await get("/v2/_catalog", basic("admin", "s3cret"))).statusCode).toBe(200);
    expect((await get("/v2/_catalog", basic("alice", "s3cret"))).statusCode).toBe(403);
    const t = await token("admin", ["registry:catalog:*"]);
    expect(claims(t.token).access).toEqual([{ type: "registry", name: "catalog", actions: ["*"] }]);
    expect((await get("/v2/_catalog", `Bearer ${t.token}`)).statusCode).toBe(200);
    const none = await get("/v2/_catalog");
    expect(none.headers["www-authenticate"]).toContain('scope="registry:catalog:*"');
  });

  it("supports the OAuth2 password grant on POST /token", async () => {
    const form = new URLSearchParams({
      grant_type: "password",
      username: "bob",
      password: "s3cret",
      service: "drydock",
      client_id: "test",
      scope: "repository:bob/app:pull,push repository:alice/app:pull",
    });
    const r = await app.inject({
      method: "POST",
      url: "/token",
      headers: { host: HOST, "content-type": "application/x-www-form-urlencoded" },
      payload: form.toString(),
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers["cache-control"]).toBe("no-store");
    const body = r.json<{ access_token: string; scope: string }>();
    expect(body.scope).toBe("repository:bob/app:pull,push");
    form.set("password", "wrong");
    const bad = await app.inject({
      method: "POST",
      url: "/token",
      headers: { host: HOST, "content-type": "application/x-www-form-urlencoded" },
      payload: form.toString(),
    });
    expect(bad.statusCode).toBe(401);
    form.set("grant_type", "refresh_token");
    const refresh = await app.inject({
      method: "POST",
      url: "/token",
      headers: { host: HOST },
      payload: form.toString(),
    });
    expect(refresh.statusCode).toBe(400);
  });

  it("falls back to a normal upload when the user may not pull the mount source", async () => {
    const put = await app.inject({
      method: "POST",
      url: `/v2/alice/src/blobs/uploads/?digest=${blobDigest}`,
      headers: {
        host: HOST,
        authorization: basic("alice", "s3cret"),
        "content-type": "application/octet-stream",
      },
      payload: blob,
    });
    expect(put.statusCode, put.body).toBe(201);
    // bob may push bob/** but not pull alice/*: an upload session instead of a mount.
    const bob = await app.inject({
      method: "POST",
      url: `/v2/bob/dst/blobs/uploads/?mount=${blobDigest}&from=alice/src`,
      headers: { host: HOST, authorization: basic("bob", "s3cret") },
    });
    expect(bob.statusCode).toBe(202);
    expect(bob.headers.location).toMatch(/^\/v2\/bob\/dst\/blobs\/uploads\//);
    // Same with a token that does not carry the source's scope.
    const t = await token("bob", ["repository:bob/dst:pull,push", "repository:alice/src:pull"]);
    const bobToken = await app.inject({
      method: "POST",
      url: `/v2/bob/dst/blobs/uploads/?mount=${blobDigest}&from=alice/src`,
      headers: { host: HOST, authorization: `Bearer ${t.token}` },
    });
    expect(bobToken.statusCode).toBe(202);
    // admin may pull alice/src: the blob is mounted.
    const admin = await app.inject({
      method: "POST",
      url: `/v2/admin/dst/blobs/uploads/?mount=${blobDigest}&from=alice/src`,
      headers: { host: HOST, authorization: basic("admin", "s3cret") },
    });
    expect(admin.statusCode).toBe(201);
    expect(admin.headers["docker-content-digest"]).toBe(blobDigest);
  });

  it("upload sessions need push, whatever the method", async () => {
    const start = await app.inject({
      method: "POST",
      url: "/v2/alice/app/blobs/uploads/",
      headers: { host: HOST, authorization: basic("alice", "s3cret") },
    });
    const location = start.headers.location as string;
    const status = await get(location, basic("alice", "s3cret"));
    expect(status.statusCode).toBe(204);
    // Pull alone (team/**) does not open someone's upload session, not even its status.
    expect((await get(location.replace("alice/app", "team/app"), basic("alice", "s3cret"))).statusCode).toBe(
      403,
    );
    // Cancelling is part of a push: admin has pull and push on ** but no delete, and may cancel.
    const cancel = await app.inject({
      method: "DELETE",
      url: location,
      headers: { host: HOST, authorization: basic("admin", "s3cret") },
    });
    expect(cancel.statusCode).toBe(204);
    expect((await get(location, basic("alice", "s3cret"))).statusCode).toBe(404);
  });

  it("keeps the token key in DATA/token.key with mode 0600 and reuses it", async () => {
    const path = join(dir, TOKEN_KEY_FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, "utf8")).trim()).toMatch(/^[0-9a-f]{64}$/);
    const t = await token("alice", ["repository:alice/app:pull"]);
    // A second server on the same data directory (a restart) accepts the first one's tokens.
    const again = await createAuth(config, dir);
    await expect(
      again.authorizer.authorize(
        `Bearer ${t.token}`,
        [{ type: "repository", name: "alice/app", actions: ["pull"] }],
        {
          host: HOST,
          protocol: "http",
        },
      ),
    ).resolves.toEqual({ username: "alice" });
    // A configured secret replaces the file's key: old tokens are no longer valid.
    const other = await createAuth(await makeConfig(dir, { tokenSecret: "x".repeat(32) }), dir);
    await expect(
      other.authorizer.authorize(`Bearer ${t.token}`, [], { host: HOST, protocol: "http" }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});
