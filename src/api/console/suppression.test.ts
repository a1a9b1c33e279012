import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addException } from "../../findings/exceptions.js";
import { admin as unrestricted } from "../../findings/suppression-testing.js";
import { debianImage, pushImage } from "../../scan/testing.js";
import type { HiddenFindings, SuppressionList, SuppressionRuleView } from "./contract/suppression.js";
import {
  openConsoleWorld,
  type ConsoleWorld,
  type TestSession,
  ADMIN_USER,
  TEAM_DEV_USER,
} from "./testing.js";

/**
 * The console's suppression rules over the real registry, ENHANCED scan on push and Inspector2
 * backend (SQLite): an exception made in the console changes the state of the findings it
 * covers (and only those), lists what it hides, is edited (same ARN), expired and deleted, each
 * through the Inspector2 filter calls; bad bodies and parameters are 400s that change nothing,
 * non-admins get 403, a change without the CSRF token 403.
 */

let w: ConsoleWorld;
let admin: TestSession;
let dev: TestSession;
const digests: Record<string, string> = {};

async function call(
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  o: { as?: TestSession; body?: unknown; csrf?: boolean } = {},
): Promise<{ status: number; json: unknown }> {
  const res = await w.call(method, path, { as: admin, ...o });
  return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as unknown) : undefined };
}

beforeAll(async () => {
  w = await openConsoleWorld({
    users: [ADMIN_USER, TEAM_DEV_USER],
  });
  admin = await w.signIn("admin");
  dev = await w.signIn("dev");
  for (const repo of ["team/app", "prod/api"]) {
    digests[repo] = await pushImage(w.registry, repo, debianImage());
    await w.scanned(repo, digests[repo]);
  }
});
afterAll(async () => {
  await w.close();
});

const statuses = async () => ({
  team: await w.statuses("team/app", digests["team/app"]!),
  prod: await w.statuses("prod/api", digests["prod/api"]!),
});

const exception = {
  name: "accept-0001",
  reason: "not reachable: the binary is never run",
  owner: "team-app@example.com",
  expires: "2027-01-01",
  vulnerability: "CVE-2099-0001",
  repositories: ["team/**"],
};

describe("suppression rules in the console", () => {
  it("starts with every finding ACTIVE and no rule", async () => {
    expect(await statuses()).toEqual({
      team: { "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" },
      prod: { "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" },
    });
    expect((await call("GET", "/suppression")).json).toMatchObject({ items: [], total: 0 });
  });

  it.each([
    ["no body", undefined],
    ["an unknown member", { ...exception, colour: "red" }],
    ["no reason", { ...exception, reason: " " }],
    ["no owner", { ...exception, owner: "" }],
    [
      "no scope (it would suppress everything)",
      { ...exception, vulnerability: undefined, repositories: undefined },
    ],
    ["an expiry that is not a date", { ...exception, expires: "soon" }],
    ["an expiry already past", { ...exception, expires: "2025-12-31" }],
    ["a bad image digest", { ...exception, imageDigest: "sha256:abc" }],
    ["a bad repository pattern", { ...exception, repositories: ["Team/App"] }],
    ["a package version without a package", { ...exception, packageVersion: "1.0" }],
    ["a bad name", { ...exception, name: "a\nb" }],
  ])("refuses %s with a 400 and creates nothing", async (_what, body) => {
    const r = await call("POST", "/suppression", { body });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: "BadParameter" } });
    expect(await w.meta.filters.count()).toBe(0);
  });

  it("refuses a non-admin (403) for reading and changing, and a change without CSRF (403)", async () => {
    expect((await call("POST", "/suppression", { as: dev, body: exception })).status).toBe(403);
    expect((await call("GET", "/suppression", { as: dev })).status).toBe(403);
    expect((await call("POST", "/suppression", { body: exception, csrf: false })).status).toBe(403);
    expect(await w.meta.filters.count()).toBe(0);
  });

  let id = "";
  it("creates an exception that suppresses exactly the findings it covers", async () => {
    const r = await call("POST", "/suppression", { body: exception });
    expect(r.status).toBe(200);
    const rule = r.json as SuppressionRuleView;
    expect(rule).toMatchObject({
      name: "accept-0001",
      kind: "exception",
      source: "console",
      owner: exception.owner,
      reason: exception.reason,
      vulnerability: "CVE-2099-0001",
      repositories: ["team/**"],
      expired: false,
      editable: true,
      expiresAt: Date.parse("2027-01-02T00:00:00Z"), // through that day
    });
    id = rule.arn.slice(rule.arn.lastIndexOf("/") + 1);
    expect(await statuses()).toEqual({
      team: { "CVE-2099-0001": "SUPPRESSED", "CVE-2099-0002": "ACTIVE" },
      prod: { "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" },
    });
    // A second one of the same name is a conflict, and changes nothing.
    expect((await call("POST", "/suppression", { body: exception })).status).toBe(409);
    expect(await w.meta.filters.count()).toBe(1);
  });

  it("lists it, and what it hides now", async () => {
    const list = (await call("GET", "/suppression?state=active&q=team-app")).json as SuppressionList;
    expect(list).toMatchObject({ total: 1, items: [{ name: "accept-0001" }] });
    expect(((await call("GET", "/suppression?state=expired")).json as SuppressionList).total).toBe(0);
    const hidden = (await call("GET", `/suppression/${id}/findings`)).json as HiddenFindings;
    expect(hidden.total).toBe(1);
    expect(hidden.items).toEqual([
      expect.objectContaining({
        vulnerabilityId: "CVE-2099-0001",
        repositoryName: "team/app",
        imageDigest: digests["team/app"],
        packageName: "base-files",
      }),
    ]);
    expect(hidden.rule.name).toBe("accept-0001");
  });

  it("edits it in place (same ARN): now it covers every repository", async () => {
    const r = await call("PUT", `/suppression/${id}`, { body: { ...exception, repositories: ["**"] } });
    expect(r.status).toBe(200);
    expect((r.json as SuppressionRuleView).arn.endsWith(`/${id}`)).toBe(true);
    expect(await statuses()).toEqual({
      team: { "CVE-2099-0001": "SUPPRESSED", "CVE-2099-0002": "ACTIVE" },
      prod: { "CVE-2099-0001": "SUPPRESSED", "CVE-2099-0002": "ACTIVE" },
    });
    const hidden = (await call("GET", `/suppression/${id}/findings?limit=1`)).json as HiddenFindings;
    expect(hidden).toMatchObject({ total: 2, limit: 1, offset: 0 });
    expect(hidden.items).toHaveLength(1);
    // A restricted caller (were it admin) would see its own; a bad edit changes nothing.
    expect(
      (await call("PUT", `/suppression/${id}`, { body: { ...exception, expires: "never" } })).status,
    ).toBe(400);
    expect((await call("PUT", `/suppression/${id}`, { as: dev, body: exception })).status).toBe(403);
    expect(await statuses()).toMatchObject({ prod: { "CVE-2099-0001": "SUPPRESSED" } });
  });

  it("expires it now: the findings are ACTIVE again and it hides nothing", async () => {
    expect((await call("POST", `/suppression/${id}/expire`, { body: { expires: "tomorrow" } })).status).toBe(
      400,
    );
    const r = await call("POST", `/suppression/${id}/expire`, { body: { expires: "now" } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ expired: true, expiresAt: w.clock.now });
    expect(await statuses()).toEqual({
      team: { "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" },
      prod: { "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" },
    });
    expect((await call("GET", `/suppression/${id}/findings`)).json).toMatchObject({ total: 0, items: [] });
    expect(((await call("GET", "/suppression?state=expired")).json as SuppressionList).total).toBe(1);
    // Given a later expiry again, it suppresses again.
    expect(
      (await call("POST", `/suppression/${id}/expire`, { body: { expires: "2026-06-30T12:00:00Z" } })).status,
    ).toBe(200);
    expect((await statuses()).team["CVE-2099-0001"]).toBe("SUPPRESSED");
  });

  it("deletes it: the findings are ACTIVE again", async () => {
    expect((await call("DELETE", `/suppression/${id}`, { as: dev })).status).toBe(403);
    const r = await call("DELETE", `/suppression/${id}`);
    expect(r.status).toBe(204);
    expect((await statuses()).team["CVE-2099-0001"]).toBe("ACTIVE");
    expect((await call("GET", `/suppression/${id}`)).status).toBe(404);
    expect((await call("DELETE", `/suppression/${id}`)).status).toBe(404);
  });

  it("leaves the configuration's exceptions to the configuration: not editable here (409)", async () => {
    const rec = await addException(
      w.inspector,
      { ...exception, name: "config/accept", expiresAt: Date.parse("2027-01-01") },
      "config",
      unrestricted,
      w.clock.now,
    );
    const id = rec.arn.slice(rec.arn.lastIndexOf("/") + 1);
    expect((await call("GET", `/suppression/${id}`)).json).toMatchObject({
      source: "config",
      editable: false,
    });
    const r = await call("PUT", `/suppression/${id}`, { body: { ...exception, name: "config/accept" } });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({
      error: { code: "Conflict", message: expect.stringContaining("configuration") },
    });
    expect((await call("DELETE", `/suppression/${id}`)).status).toBe(204);
  });

  it.each([
    ["GET", "/suppression?sort=colour"],
    ["GET", "/suppression?state=maybe"],
    ["GET", "/suppression?limit=0"],
    ["GET", "/suppression/not-an-id"],
    ["GET", "/suppression/abc123/findings?limit=101"],
  ] as const)("%s %s is a 400", async (method, path) => {
    const r = await call(method, path);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: "BadParameter" } });
  });
});
