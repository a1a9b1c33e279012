import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../core/logger.js";
import { createHttpServer } from "../../server.js";
import { ConsoleDownload, ConsoleError } from "./router.js";
import { registerConsoleStatic } from "./static.js";
import { openConsoleWorld, type ConsoleWorld } from "./testing.js";
import { intParam } from "./params.js";

// The console API's plumbing: sessions, CSRF, admin, errors, downloads; and the static pages.
const probe = (r: Parameters<import("./index.js").ConsoleArea>[0]) => {
  r.get("/probe", async (req) => ({
    user: req.principal.user,
    n: intParam(req.query, "n", { min: 0, max: 9 }),
  }));
  r.post("/probe", async (req) => ({ got: req.body }));
  r.put("/probe/admin", async () => ({ ok: true }), { admin: true });
  r.get("/probe/missing", async () => {
    throw new ConsoleError(404, "NotFound", "no such thing");
  });
  r.get("/probe/crash", async () => {
    throw new Error("secret internals");
  });
  r.get("/probe/file", async () => new ConsoleDownload("text/csv", "findings é.csv", "a,b\n"));
  r.del("/probe", async () => undefined);
};

describe("console API with users", () => {
  let w: ConsoleWorld;
  beforeAll(async () => {
    w = await openConsoleWorld({
      users: [
        { username: "alice", access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }] },
        { username: "bob", access: [{ repository: "team/**", actions: ["pull"] }] },
      ],
      areas: [probe],
    });
  });
  afterAll(() => w?.close());

  it("asks for a session, and refuses a wrong password without a cookie", async () => {
    const anon = await w.app.inject({ method: "GET", url: "/api/console/probe" });
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toEqual({ error: { code: "Unauthenticated", message: "sign in first" } });
    expect((await w.app.inject({ method: "GET", url: "/api/console/session" })).statusCode).toBe(401);
    const wrong = await w.app.inject({
      method: "POST",
      url: "/api/console/session",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ username: "alice", password: "nope" }),
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
    const bad = await w.app.inject({ method: "POST", url: "/api/console/session", payload: "{not json" });
    expect(bad.statusCode).toBe(400);
  });

  it("signs in with an HTTP-only, SameSite=Strict cookie and answers as the user", async () => {
    const res = await w.app.inject({
      method: "POST",
      url: "/api/console/session",
      payload: JSON.stringify({ username: "bob", password: "bob" }),
    });
    expect(res.statusCode).toBe(200);
    const setCookie = String(res.headers["set-cookie"]);
    expect(setCookie).toMatch(
      /^drydock_session=v1\.[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
    );
    expect(res.json()).toMatchObject({ open: false, user: "bob", admin: false });
    const bob = await w.signIn("bob");
    expect(await w.json("/probe?n=3", bob)).toEqual({ user: "bob", n: 3 });
    const session = await w.call("GET", "/session", { as: bob });
    expect(session.json()).toMatchObject({ user: "bob", admin: false, csrfToken: bob.csrfToken });
  });

  it("refuses a tampered or foreign cookie", async () => {
    const bob = await w.signIn("bob");
    const [v, payload, mac] = bob.cookie.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { u: string };
    const forged = Buffer.from(JSON.stringify({ ...claims, u: "alice" })).toString("base64url");
    const res = await w.call("GET", "/probe", { as: { cookie: `${v}.${forged}.${mac}`, csrfToken: "" } });
    expect(res.statusCode).toBe(401);
  });

  it("needs the CSRF token on changes, and admin where the route says so", async () => {
    const alice = await w.signIn("alice");
    const bob = await w.signIn("bob");
    expect((await w.call("POST", "/probe", { as: alice, body: { a: 1 }, csrf: false })).statusCode).toBe(403);
    expect((await w.call("POST", "/probe", { as: alice, body: { a: 1 } })).json()).toEqual({ got: { a: 1 } });
    // Another session's token is not this one's.
    const crossed = await w.call("POST", "/probe", {
      as: { cookie: alice.cookie, csrfToken: bob.csrfToken },
      body: {},
    });
    expect(crossed.statusCode).toBe(403);
    const denied = await w.call("PUT", "/probe/admin", { as: bob });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe("Forbidden");
    expect((await w.call("PUT", "/probe/admin", { as: alice })).json()).toEqual({ ok: true });
    expect((await w.call("DELETE", "/probe", { as: alice })).statusCode).toBe(204);
  });

  it("answers bad parameters, unknown paths and failures as JSON errors, without internals", async () => {
    const bad = await w.call("GET", "/probe?n=12");
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: { code: "BadParameter", message: "n: between 0 and 9 (got 12)" } });
    expect((await w.call("GET", "/probe?n=1&n=2")).statusCode).toBe(400);
    expect((await w.call("GET", "/probe/missing")).json()).toEqual({
      error: { code: "NotFound", message: "no such thing" },
    });
    const unknown = await w.call("GET", "/nothing/here");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe("NotFound");
    const crash = await w.call("GET", "/probe/crash");
    expect(crash.statusCode).toBe(500);
    expect(crash.body).not.toContain("secret");
    const big = await w.call("POST", "/probe", { body: { x: "a".repeat(300 * 1024) } });
    expect(big.statusCode).toBe(413);
    expect((await w.call("GET", "/probe")).headers["cache-control"]).toBe("no-store");
  });

  it("sends downloads as attachments", async () => {
    const res = await w.call("GET", "/probe/file");
    expect(res.headers["content-type"]).toMatch(/^text\/csv/);
    expect(res.headers["content-disposition"]).toBe(
      `attachment; filename="findings__.csv"; filename*=UTF-8''findings%20%C3%A9.csv`,
    );
    expect(res.body).toBe("a,b\n");
  });

  it("signs out by clearing the cookie", async () => {
    const res = await w.app.inject({ method: "DELETE", url: "/api/console/session" });
    expect(res.statusCode).toBe(204);
    expect(String(res.headers["set-cookie"])).toMatch(/^drydock_session=; .*Max-Age=0$/);
  });
});

describe("console API without users (loopback)", () => {
  let w: ConsoleWorld;
  beforeAll(async () => {
    w = await openConsoleWorld({ areas: [probe] });
  });
  afterAll(() => w?.close());

  it("is open, unrestricted, and still needs the CSRF token on changes", async () => {
    const s = await w.app.inject({ method: "GET", url: "/api/console/session" });
    expect(s.json()).toMatchObject({ open: true, user: null, admin: true });
    expect((await w.app.inject({ method: "GET", url: "/api/console/probe" })).statusCode).toBe(200);
    expect((await w.call("POST", "/probe", { body: {}, csrf: false })).statusCode).toBe(403);
    expect((await w.call("POST", "/probe", { body: { b: 2 } })).json()).toEqual({ got: { b: 2 } });
    expect((await w.call("PUT", "/probe/admin")).statusCode).toBe(200);
  });
});

describe("console API over TLS", () => {
  it("marks the session cookie Secure", async () => {
    const w = await openConsoleWorld({
      users: [{ username: "carol", access: [{ repository: "**", actions: ["pull"] }] }],
      areas: [probe],
      secure: true,
    });
    try {
      const res = await w.app.inject({
        method: "POST",
        url: "/api/console/session",
        payload: JSON.stringify({ username: "carol", password: "carol" }),
      });
      expect(String(res.headers["set-cookie"])).toMatch(
        /; HttpOnly; SameSite=Strict; Secure; Max-Age=43200$/,
      );
    } finally {
      await w.close();
    }
  });
});

describe("console pages", () => {
  let dir: string;
  const app = createHttpServer(silentLogger());
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-console-static-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>Drydock</title>");
    await writeFile(join(dir, "assets", "index-abc.js"), "console.log(1)");
    await writeFile(join(dir, "secret.txt.bak"), "x");
    registerConsoleStatic(app, dir);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves every view's URL as the page, with a content security policy", async () => {
    for (const url of [
      "/console/",
      "/console/repositories/team/app/images/sha256:abc",
      "/console/dashboard",
    ]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain("<title>Drydock</title>");
      expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(res.headers["cache-control"]).toBe("no-cache");
    }
    expect((await app.inject({ method: "GET", url: "/console" })).headers.location).toBe("/console/");
    expect((await app.inject({ method: "GET", url: "/" })).headers.location).toBe("/console/");
  });

  it("serves hashed assets for a year, and 404 for a missing asset or a path out of the folder", async () => {
    const js = await app.inject({ method: "GET", url: "/console/assets/index-abc.js" });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toContain("immutable");
    expect((await app.inject({ method: "GET", url: "/console/assets/old-123.js" })).statusCode).toBe(404);
    const escape = await app.inject({ method: "GET", url: "/console/..%2f..%2fetc%2fpasswd" });
    expect(escape.body).not.toContain("root:");
    expect(escape.statusCode).toBe(200); // the page: the path names no file inside the folder
  });
});
