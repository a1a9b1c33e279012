import { rm } from "node:fs/promises";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleTestDatabase, KEV_DATE } from "../../console/testing.js";
import { debianImage, pushImage } from "../../scan/testing.js";
import type { VulnDbProvider } from "../../scan/vulndb-provider.js";
import { metaDrivers } from "../../storage/meta/drivers-testing.js";
import { runConsoleRollup } from "../../console/rollup.js";
import type {
  AffectedImagesPage,
  VulnerabilityListPage,
  VulnerabilityView,
} from "./contract/vulnerabilities.js";
import { ConsoleError } from "./router.js";
import {
  openConsoleWorld,
  type ConsoleWorld,
  type TestSession,
  ADMIN_USER,
  TEAM_DEV_USER,
} from "./testing.js";
import { VULNERABILITY_ID_RE, vulnerabilityIdParam } from "./vulnerabilities.js";

/**
 * The vulnerability page's API over real stores (SQLite and PostgreSQL), real scans (base-files
 * 12.4: CVE-2099-0001 and -0002) and a real vulnerability database (the advisory and enrichment
 * of CVE-2099-0001): team/app and other/secret are both affected; `dev` may pull team/** only.
 */
describe.each(metaDrivers("console vulnerabilities API"))(
  "console vulnerabilities API (%s)",
  (_driver, open) => {
    let w: ConsoleWorld;
    let db: { provider: VulnDbProvider; dir: string };
    let dev: TestSession;
    let app: string;
    let secret: string;
    const get = async <T>(path: string, as?: TestSession) => {
      const r = await w.call("GET", path, { as });
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as T;
    };
    const status = async (path: string, as?: TestSession) => (await w.call("GET", path, { as })).statusCode;

    beforeAll(async () => {
      w = await openConsoleWorld({
        open,
        users: [ADMIN_USER, TEAM_DEV_USER],
      });
      db = await consoleTestDatabase();
      w.deps.vulndb = db.provider;
      dev = await w.signIn("dev");
      app = await pushImage(w.registry, "team/app", debianImage("12.4"));
      await w.scanned("team/app", app);
      w.clock.now += 60_000;
      secret = await pushImage(w.registry, "other/secret", debianImage("12.4"));
      await w.scanned("other/secret", secret);
      // team/app's CVE-2099-0002 suppressed; a vulnerability only other/secret has.
      const appId = (await w.meta.registry.repositoryId("team/app"))!;
      const secretId = (await w.meta.registry.repositoryId("other/secret"))!;
      const rows = await w.meta.findings.forImage(appId, app, "ENHANCED");
      await w.meta.findings.setStatus(
        rows.filter((f) => f.vulnerabilityId === "CVE-2099-0002").map((f) => f.id),
        "SUPPRESSED",
        w.clock.now,
      );
      const [one] = await w.meta.findings.forImage(secretId, secret, "ENHANCED");
      await w.meta.findings.put([
        {
          identity: { ...one!, vulnerabilityId: "CVE-2099-9999" },
          state: { ...one!, status: "ACTIVE" },
          document: JSON.stringify({
            ...JSON.parse(one!.document),
            vulnerabilityId: "CVE-2099-9999",
            title: "secret",
          }),
        },
      ]);
    });
    afterAll(async () => {
      db?.provider.close();
      await w?.close();
      if (db) await rm(db.dir, { recursive: true, force: true });
    });

    it("shows description, CVSS by source, EPSS, KEV, references and advisories from the database", async () => {
      const v = await get<VulnerabilityView>("/vulnerabilities/CVE-2099-0001");
      expect(v).toMatchObject({
        id: "CVE-2099-0001",
        title: "base-files: a test flaw",
        description: "A flaw in base-files before 12.5 lets a test fail.",
        epss: { score: 0.42, percentile: 0.97, date: "2099-02-02" },
        kev: { dateAdded: KEV_DATE, dueDate: "2099-02-22" },
        affected: { findings: 2, capped: false },
        database: true,
      });
      expect(v.aliases).toContain("GHSA-aaaa-bbbb-cccc");
      expect(v.cvss).toEqual(
        expect.arrayContaining([
          {
            version: "3.x",
            vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
            score: 8.1,
            source: "nvd",
          },
          {
            version: "3.x",
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            score: 9.8,
            source: "osv",
          },
        ]),
      );
      expect(v.references).toEqual([
        { url: "https://example.org/CVE-2099-0001", type: "ADVISORY" },
        { url: "https://example.org/fix", type: "FIX" },
      ]);
      expect(v.advisories).toEqual([
        expect.objectContaining({ id: "CVE-2099-0001", source: "osv", packages: ["debian:12 base-files"] }),
      ]);
      expect(v.severity).not.toBeNull();
    });

    it("counts and discloses only what the caller may pull", async () => {
      expect((await get<VulnerabilityView>("/vulnerabilities/CVE-2099-0001", dev)).affected).toEqual({
        findings: 1,
        capped: false,
      });
      // Known from the findings only (not in the database): the finding's text.
      const second = await get<VulnerabilityView>("/vulnerabilities/CVE-2099-0002", dev);
      expect(second).toMatchObject({ advisories: [], kev: null, affected: { findings: 1 } });
      // Only in a repository dev may not pull, and unknown to the database: not disclosed.
      expect(await status("/vulnerabilities/CVE-2099-9999", dev)).toBe(404);
      expect((await get<VulnerabilityView>("/vulnerabilities/CVE-2099-9999")).title).toBe("secret");
      expect(await status("/vulnerabilities/CVE-2000-0000")).toBe(404);
    });

    it("lists the affected images with status, paged and sorted, filtered by status and access", async () => {
      const all = await get<AffectedImagesPage>("/vulnerabilities/CVE-2099-0001/images");
      expect(all).toMatchObject({ total: 2, limit: 50, offset: 0 });
      // Default: last observed first (other/secret was scanned a minute later).
      expect(all.items.map((i) => i.repository)).toEqual(["other/secret", "team/app"]);
      expect(all.items[1]).toMatchObject({
        repository: "team/app",
        digest: app,
        status: "ACTIVE",
        package: "base-files",
        installedVersion: "12.4",
        fixedVersion: "12.5",
        scanType: "ENHANCED",
      });
      const asc = await get<AffectedImagesPage>(
        "/vulnerabilities/CVE-2099-0001/images?order=asc&limit=1&offset=1",
      );
      expect(asc).toMatchObject({ total: 2, limit: 1, offset: 1 });
      expect(asc.items.map((i) => i.repository)).toEqual(["other/secret"]);
      const mine = await get<AffectedImagesPage>("/vulnerabilities/CVE-2099-0001/images?sort=severity", dev);
      expect(mine.items.map((i) => i.repository)).toEqual(["team/app"]);
      const suppressed = await get<AffectedImagesPage>(
        "/vulnerabilities/CVE-2099-0002/images?status=SUPPRESSED",
      );
      expect(suppressed.items.map((i) => [i.repository, i.status])).toEqual([["team/app", "SUPPRESSED"]]);
      const active = await get<AffectedImagesPage>("/vulnerabilities/CVE-2099-0002/images?status=ACTIVE");
      expect(active.items.map((i) => [i.repository, i.status])).toEqual([["other/secret", "ACTIVE"]]);
      expect((await get<AffectedImagesPage>("/vulnerabilities/CVE-2000-0000/images")).total).toBe(0);
    });

    it("lists the open vulnerabilities by affected images, searchable, the caller's only", async () => {
      await runConsoleRollup(w.meta, { historyDays: 30, now: () => w.clock.now });
      const all = await get<VulnerabilityListPage>("/vulnerabilities");
      expect(all).toMatchObject({ total: 3, limit: 50, offset: 0, refreshedAt: expect.any(Number) });
      expect(all.items[0]).toMatchObject({ id: "CVE-2099-0001", images: 2, repositories: 2 });
      expect(all.items.map((v) => v.id).sort()).toEqual(["CVE-2099-0001", "CVE-2099-0002", "CVE-2099-9999"]);
      const found = await get<VulnerabilityListPage>(
        "/vulnerabilities?search=cve-2099-999&sort=id&order=asc",
      );
      expect(found.items.map((v) => v.id)).toEqual(["CVE-2099-9999"]);
      // dev: team/app only, where CVE-2099-0002 is suppressed (not open).
      const mine = await get<VulnerabilityListPage>("/vulnerabilities?sort=priority", dev);
      expect(mine).toMatchObject({ total: 1, items: [{ id: "CVE-2099-0001", images: 1 }] });
      expect(await status("/vulnerabilities?sort=name")).toBe(400);
      expect(await status(`/vulnerabilities?search=${"x".repeat(129)}`)).toBe(400);
    });

    it("answers 400 naming the parameter for bad ids, sorts, statuses and pages", async () => {
      for (const [path, name] of [
        ["/vulnerabilities/CVE%202099", "id"],
        ["/vulnerabilities/-CVE/images", "id"],
        [`/vulnerabilities/${"A".repeat(129)}`, "id"],
        ["/vulnerabilities/CVE-2099-0001/images?sort=name", "sort"],
        ["/vulnerabilities/CVE-2099-0001/images?status=CLOSED", "status"],
        ["/vulnerabilities/CVE-2099-0001/images?limit=0", "limit"],
        ["/vulnerabilities/CVE-2099-0001/images?limit=201", "limit"],
        ["/vulnerabilities/CVE-2099-0001/images?offset=-1", "offset"],
        ["/vulnerabilities/CVE-2099-0001/images?order=up", "order"],
      ] as const) {
        const r = await w.call("GET", path);
        expect(r.statusCode, `${path}: ${r.body}`).toBe(400);
        expect((r.json() as { error: { code: string; message: string } }).error).toMatchObject({
          code: "BadParameter",
          message: expect.stringMatching(new RegExp(`^${name}:`)),
        });
      }
    });
  },
);

describe("vulnerabilityIdParam", () => {
  it("accepts what the feeds name and refuses anything else with a 400 (property)", () => {
    for (const id of [
      "CVE-2024-1234",
      "GHSA-xxxx-yyyy-zzzz",
      "DSA-5380-1",
      "ALSA-2024:0001",
      "RUSTSEC-2023-0001",
      "GO-2023-1234",
    ])
      expect(vulnerabilityIdParam(id)).toBe(id);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary" }),
          fc.constantFrom("", " CVE-1", "a/b", "..", "x".repeat(200)),
        ),
        (raw) => {
          try {
            const id = vulnerabilityIdParam(raw);
            expect(id).toBe(raw);
            expect(VULNERABILITY_ID_RE.test(id)).toBe(true);
            expect(id.length).toBeLessThanOrEqual(128);
          } catch (e) {
            expect(e).toBeInstanceOf(ConsoleError);
            expect((e as ConsoleError).status).toBe(400);
            expect(VULNERABILITY_ID_RE.test(raw)).toBe(false);
          }
        },
      ),
    );
    expect(() => vulnerabilityIdParam(undefined)).toThrow(ConsoleError);
  });
});
