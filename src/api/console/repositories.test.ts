import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debianImage, pushImage } from "../../scan/testing.js";
import { metaDrivers } from "../../storage/meta/drivers-testing.js";
import type { RepositoryListPage } from "./contract/repositories.js";
import { openRegistryViewsWorld, type RegistryViewsWorld } from "./registry-views-testing.js";

/**
 * GET /api/console/repositories over real stores (SQLite and PostgreSQL) and real scans: two
 * vulnerable repositories (base-files 12.4: two findings each), a clean one, an empty one; the
 * user `dev` may pull team/** only.
 */
describe.each(metaDrivers("console repositories API"))("console repositories API (%s)", (_driver, open) => {
  let w: RegistryViewsWorld;
  let severity: string;
  const list = async (query = "", who: "admin" | "dev" = "admin") => {
    const r = await w.get(who, `/api/console/repositories${query}`);
    expect(r.status, r.body).toBe(200);
    return r.json as RepositoryListPage;
  };
  const names = (p: RepositoryListPage) => p.items.map((r) => r.name);

  beforeAll(async () => {
    w = await openRegistryViewsWorld({ open });
    for (const [repo, version] of [
      ["team/app", "12.4"],
      ["team/clean", "12.5"],
      ["other/secret", "12.4"],
    ] as const) {
      const digest = await pushImage(w.registry, repo, debianImage(version));
      await w.scanned(repo, digest);
    }
    await w.meta.registry.ensureRepository("team/empty");
    const id = (await w.meta.registry.repositoryId("team/app"))!;
    const digest = (await w.meta.registry.tag(id, "latest"))!;
    const rows = await w.meta.findings.forImage(id, digest, "ENHANCED");
    expect(rows).toHaveLength(2);
    severity = rows[0]!.severity;
  });
  afterAll(async () => {
    await w?.close();
  });

  it("lists repositories by name with images, last push, scan frequency and ACTIVE findings by severity", async () => {
    const p = await list();
    expect(p).toMatchObject({ total: 4, limit: 50, offset: 0 });
    expect(names(p)).toEqual(["other/secret", "team/app", "team/clean", "team/empty"]);
    expect(p.items[1]).toEqual({
      name: "team/app",
      createdAt: w.clock.now,
      images: 1,
      lastPushAt: w.clock.now,
      scanFrequency: "SCAN_ON_PUSH",
      scanType: "ENHANCED",
      findings: { [severity]: 2 },
    });
    expect(p.items[2]!.findings).toEqual({});
    expect(p.items[3]).toMatchObject({ images: 0, lastPushAt: null, findings: {} });
  });

  it("sorts by findings and by images (most first by default), ties by name", async () => {
    expect(names(await list("?sort=findings"))).toEqual([
      "other/secret",
      "team/app",
      "team/clean",
      "team/empty",
    ]);
    expect(names(await list("?sort=findings&order=asc"))).toEqual([
      "team/clean",
      "team/empty",
      "other/secret",
      "team/app",
    ]);
    expect(names(await list("?sort=images&order=asc")).at(0)).toBe("team/empty");
    expect(names(await list("?sort=lastPush")).at(-1)).toBe("team/empty");
    expect(names(await list("?sort=name&order=desc"))).toEqual([
      "team/empty",
      "team/clean",
      "team/app",
      "other/secret",
    ]);
  });

  it("searches a case-insensitive substring, LIKE wildcards taken literally", async () => {
    expect(names(await list("?search=APP"))).toEqual(["team/app"]);
    expect(await list("?search=team%2F")).toMatchObject({ total: 3 });
    expect(await list("?search=_")).toMatchObject({ total: 0, items: [] });
    expect(await list("?search=%25")).toMatchObject({ total: 0, items: [] });
  });

  it("pages with limit and offset; past the end is an empty page with the total", async () => {
    const p = await list("?limit=2&offset=1");
    expect(names(p)).toEqual(["team/app", "team/clean"]);
    expect(p).toMatchObject({ total: 4, limit: 2, offset: 1 });
    expect(await list("?offset=10")).toMatchObject({ items: [], total: 4 });
  });

  it("answers 400 naming the parameter for bad ones", async () => {
    for (const [query, name] of [
      ["limit=0", "limit"],
      ["limit=201", "limit"],
      ["limit=ten", "limit"],
      ["offset=-1", "offset"],
      ["sort=size", "sort"],
      ["order=up", "order"],
      [`search=${"x".repeat(300)}`, "search"],
    ] as const) {
      const r = await w.get("admin", `/api/console/repositories?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json).toMatchObject({ error: { code: "BadParameter" } });
      expect((r.json as { error: { message: string } }).error.message.startsWith(`${name}:`), query).toBe(
        true,
      );
    }
  });

  it("shows a user only the repositories it may pull", async () => {
    const p = await list("?sort=findings", "dev");
    expect(names(p)).toEqual(["team/app", "team/clean", "team/empty"]);
    expect(p.total).toBe(3);
    expect(await list("?search=secret", "dev")).toMatchObject({ total: 0 });
  });

  it("reports the scan frequency as the registry's filters resolve it", async () => {
    await w.scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        {
          scanFrequency: "CONTINUOUS_SCAN",
          repositoryFilters: [{ filter: "team/app", filterType: "WILDCARD" }],
        },
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "team/*", filterType: "WILDCARD" }] },
      ],
    });
    const p = await list();
    expect(p.items.map((r) => [r.name, r.scanFrequency])).toEqual([
      ["other/secret", "MANUAL"],
      ["team/app", "CONTINUOUS_SCAN"],
      ["team/clean", "SCAN_ON_PUSH"],
      ["team/empty", "SCAN_ON_PUSH"],
    ]);
  });
});
