import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEvents } from "../../events/log.js";
import { filterMatches } from "../../scan/filters.js";
import type { ScanningPreview, ScanningView } from "./contract/scanning.js";
import { metaDrivers } from "../../storage/meta/drivers-testing.js";
import {
  openConsoleWorld,
  type ConsoleWorld,
  type TestSession,
  ADMIN_USER,
  TEAM_DEV_USER,
} from "./testing.js";

/**
 * The console's scanning configuration over the real scan service and stores (SQLite): reading
 * it, changing it only as admin with a valid body and the CSRF token (a refused change changes
 * nothing), the change's effects being PutRegistryScanningConfiguration's (ECR Scan Resource
 * Change event) and UpdateConfiguration's (rescan window), and the live preview's semantics
 * against ECR's filter table, its counts, paging and the caller's visibility; on SQLite and
 * PostgreSQL (the store decides the matches in SQL).
 */

const NAMES = ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"];
// ECR's table (image-scanning-filters.html), as in src/scan/filters.test.ts.
const TABLE: Record<string, string[]> = {
  prod: ["prod", "prod-repo", "prodrepo", "repo-prod", "repo-prod-repo"],
  "*prod": ["prod", "repo-prod"],
  "prod*": ["prod", "prod-repo", "prodrepo"],
  "*prod*": ["prod", "prod-repo", "prodrepo", "repo-prod", "repo-prod-repo"],
  "prod*repo": ["prod-repo", "prodrepo"],
};
const OTHERS = ["team/app", "team/db", "team/prod-api", "dev/tools"];

describe.each(metaDrivers("console scanning API"))("console scanning API (%s)", (_driver, open) => {
  let w: ConsoleWorld;
  let admin: TestSession;
  let dev: TestSession;
  /** A request as `as` (admin by default): its status and JSON body. */
  async function call(
    method: "GET" | "PUT",
    path: string,
    o: { as?: TestSession; body?: unknown; csrf?: boolean } = {},
  ): Promise<{ status: number; json: unknown }> {
    const res = await w.call(method, path, { as: admin, ...o });
    return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as unknown) : undefined };
  }
  beforeAll(async () => {
    w = await openConsoleWorld({
      open,
      start: false,
      users: [ADMIN_USER, TEAM_DEV_USER],
    });
    admin = await w.signIn("admin");
    dev = await w.signIn("dev");
    for (const n of [...NAMES, ...OTHERS]) await w.meta.settings.createRepository(n, {});
  });
  afterAll(async () => {
    await w.close();
  });

  const preview = async (q: Record<string, string>, as?: TestSession) => {
    const r = await call("GET", `/scanning/preview?${new URLSearchParams(q).toString()}`, { as });
    return r as { status: number; json: ScanningPreview & { error?: { code: string; message: string } } };
  };
  const rules = (...r: [string, string[]][]) =>
    JSON.stringify(r.map(([scanFrequency, filters]) => ({ scanFrequency, filters })));

  describe("GET/PUT /api/console/scanning", () => {
    it("shows the configuration to any signed-in user; only admins may edit", async () => {
      const seen = await call("GET", "/scanning", { as: dev });
      expect(seen.status).toBe(200);
      const v = seen.json as ScanningView;
      expect(v).toMatchObject({
        scanType: "ENHANCED",
        rules: [
          { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
        ],
        rescanWindow: { rescanDuration: "DAYS_90", isDefault: true },
        canEdit: false,
      });
      expect(v.options.frequencies.BASIC).toEqual(["SCAN_ON_PUSH"]);
      expect(((await call("GET", "/scanning")).json as ScanningView).canEdit).toBe(true);
    });

    const good = {
      scanType: "ENHANCED",
      rules: [
        {
          scanFrequency: "CONTINUOUS_SCAN",
          repositoryFilters: [{ filter: "prod*", filterType: "WILDCARD" }],
        },
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "team/*", filterType: "WILDCARD" }] },
      ],
      rescanWindow: {
        rescanDuration: "DAYS_30",
        pullDateRescanDuration: "DAYS_14",
        pullDateRescanMode: "LAST_PULL_DATE",
      },
    };

    it.each([
      ["not an object", "nope"],
      ["an unknown member", { ...good, extra: 1 }],
      ["a scan type ECR does not have", { ...good, scanType: "FULL" }],
      ["CONTINUOUS_SCAN under BASIC", { ...good, scanType: "BASIC", rescanWindow: undefined }],
      ["three rules", { ...good, rules: [...good.rules, good.rules[1]] }],
      [
        "a filter ECR refuses",
        {
          ...good,
          rules: [
            {
              scanFrequency: "SCAN_ON_PUSH",
              repositoryFilters: [{ filter: "Prod!", filterType: "WILDCARD" }],
            },
          ],
        },
      ],
      [
        "a filter type other than WILDCARD",
        {
          ...good,
          rules: [
            { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "a", filterType: "PREFIX" }] },
          ],
        },
      ],
      ["a rescan duration Inspector does not have", { ...good, rescanWindow: { rescanDuration: "DAYS_5" } }],
    ])("refuses %s with a 400 and changes nothing", async (_what, body) => {
      const before = await call("GET", "/scanning");
      const events = await w.meta.events.lastSeq();
      const r = await call("PUT", "/scanning", { body });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ error: { code: "BadParameter" } });
      expect(await call("GET", "/scanning")).toEqual(before);
      expect(await w.meta.events.lastSeq()).toBe(events);
    });

    it("refuses a non-admin (403) and a change without the CSRF token (403); nothing changes", async () => {
      const before = await call("GET", "/scanning");
      const refused = await call("PUT", "/scanning", { as: dev, body: good });
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ error: { code: "Forbidden" } });
      const noCsrf = await call("PUT", "/scanning", { body: good, csrf: false });
      expect(noCsrf.status).toBe(403);
      expect(await call("GET", "/scanning")).toEqual(before);
    });

    it("changes it as PutRegistryScanningConfiguration and UpdateConfiguration do", async () => {
      const r = await call("PUT", "/scanning", { body: good });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({
        scanType: "ENHANCED",
        rules: good.rules,
        rescanWindow: { ...good.rescanWindow, isDefault: false },
      });
      expect(await w.scans.getRegistryScanningConfiguration()).toEqual({
        scanType: "ENHANCED",
        rules: good.rules,
      });
      expect(await w.inspector.getConfiguration()).toMatchObject(good.rescanWindow);
      // The frequencies that changed are announced as ECR does (prod* became continuous; dev/tools manual).
      const change = (await readEvents(w.meta, 0, 10_000))
        .filter((e) => e.event["detail-type"] === "ECR Scan Resource Change")
        .at(-1);
      expect(JSON.stringify(change?.event.detail)).toContain('"scan-frequency":"CONTINUOUS_SCAN"');
      // Without a window, the window stays.
      const again = await call("PUT", "/scanning", { body: { scanType: "BASIC", rules: [] } });
      expect(again.json).toMatchObject({
        scanType: "BASIC",
        rules: [],
        rescanWindow: { rescanDuration: "DAYS_30" },
      });
    });
  });

  describe("GET /api/console/scanning/preview", () => {
    it.each(Object.entries(TABLE))("matches ECR's table: filter %s", async (filter, expected) => {
      const r = await preview({
        scanType: "BASIC",
        rules: rules(["SCAN_ON_PUSH", [filter]]),
        rule: "0",
        filter: "0",
      });
      expect(r.status).toBe(200);
      const names = r.json.repositories.items.map((x) => x.name);
      expect(names.filter((n) => NAMES.includes(n)).sort()).toEqual(expected);
      // Every listed repository matches; the count is the listing's.
      const all = [...NAMES, ...OTHERS].filter((n) => filterMatches(filter, n));
      expect(names.sort()).toEqual(all.sort());
      expect(r.json.repositories.total).toBe(all.length);
      expect(r.json.rules[0]!.filters[0]).toEqual({ filter, valid: true, matches: all.length });
    });

    it("counts each filter and rule, and says what the draft makes of each repository (continuous wins)", async () => {
      const r = await preview({
        scanType: "ENHANCED",
        rules: rules(["SCAN_ON_PUSH", ["*"]], ["CONTINUOUS_SCAN", ["prod*", "team/*"]]),
      });
      expect(r.json.valid).toBe(true);
      expect(r.json.selection).toBeNull();
      expect(r.json.rules.map((x) => [x.matches, x.filters.map((f) => f.matches)])).toEqual([
        [9, [9]],
        [6, [3, 3]],
      ]);
      const byName = Object.fromEntries(r.json.repositories.items.map((x) => [x.name, x]));
      expect(byName["prodrepo"]).toEqual({
        name: "prodrepo",
        scanFrequency: "CONTINUOUS_SCAN",
        appliedFilters: ["prod*"],
      });
      expect(byName["dev/tools"]).toEqual({
        name: "dev/tools",
        scanFrequency: "SCAN_ON_PUSH",
        appliedFilters: ["*"],
      });
      expect(r.json.repositories.total).toBe(9);
    });

    it("shows an invalid draft as such (ECR's message), its bad filters matching nothing", async () => {
      const r = await preview({
        scanType: "BASIC",
        rules: rules(["CONTINUOUS_SCAN", ["prod", "Bad!"]]),
        rule: "0",
      });
      expect(r.status).toBe(200);
      expect(r.json.valid).toBe(false);
      expect(r.json.error).toMatch(/CONTINUOUS_SCAN is not allowed for scanType BASIC/);
      expect(r.json.rules[0]!.filters[1]).toMatchObject({ filter: "Bad!", valid: false, matches: 0 });
      expect(r.json.rules[0]!.filters[1]!.error).toMatch(/invalid repository filter/);
      expect(r.json.repositories.total).toBe(6);
    });

    it("pages the list", async () => {
      const q = { rules: rules(["SCAN_ON_PUSH", ["*"]]), limit: "4" };
      const first = await preview(q);
      const second = await preview({ ...q, offset: "4" });
      const third = await preview({ ...q, offset: "8" });
      const names = [first, second, third].flatMap((p) => p.json.repositories.items.map((x) => x.name));
      expect(names).toHaveLength(9);
      expect(new Set(names).size).toBe(9);
      expect(first.json.repositories).toMatchObject({ total: 9, limit: 4, offset: 0 });
    });

    it("shows a restricted user only the repositories it may pull", async () => {
      const r = await preview({ rules: rules(["SCAN_ON_PUSH", ["*", "prod"]]) }, dev);
      expect(r.status).toBe(200);
      expect(r.json.repositories.items.map((x) => x.name).sort()).toEqual([
        "team/app",
        "team/db",
        "team/prod-api",
      ]);
      expect(r.json.rules[0]).toMatchObject({ matches: 3, filters: [{ matches: 3 }, { matches: 1 }] });
    });

    it.each([
      ["rules that are not JSON", { rules: "[{" }],
      [
        "rules that are not a list of rules",
        { rules: JSON.stringify([{ scanFrequency: "SOMETIMES", filters: [] }]) },
      ],
      ["a rule index out of range", { rules: rules(["SCAN_ON_PUSH", ["a"]]), rule: "1" }],
      ["a filter index out of range", { rules: rules(["SCAN_ON_PUSH", ["a"]]), rule: "0", filter: "1" }],
      ["a filter without a rule", { rules: rules(["SCAN_ON_PUSH", ["a"]]), filter: "0" }],
      ["a rule of a draft without rules", { rules: "[]", rule: "0" }],
      ["a filter of a rule without filters", { rules: rules(["SCAN_ON_PUSH", []]), rule: "0", filter: "0" }],
      ["an unknown scan type", { scanType: "FULL" }],
      ["limit 0", { limit: "0" }],
      ["limit above the maximum", { limit: "201" }],
      ["a negative offset", { offset: "-1" }],
    ])("answers %s with a 400 naming the parameter", async (_what, q) => {
      const r = await preview(q as Record<string, string>);
      expect(r.status).toBe(400);
      expect(r.json.error?.code).toBe("BadParameter");
    });
  });
});
