import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsPrincipal } from "../api/access.js";
import { readEvents } from "../events/log.js";
import { debianImage, pushImage } from "../scan/testing.js";
import {
  addException,
  exceptionCovers,
  exceptionFilter,
  ExceptionError,
  expiryOf,
  listExceptions,
  syncConfigExceptions,
  validateException,
  type ExceptionInput,
} from "./exceptions.js";
import { ACCOUNT, admin, openSuppressionWorld, type SuppressionWorld } from "./suppression-testing.js";
import { testFinding } from "./testing.js";

const DAY = 24 * 3600_000;
const base = (over: Partial<ExceptionInput> = {}): ExceptionInput => ({
  name: "accept-0001",
  reason: "base-files ships no code",
  owner: "alice@example.com",
  expiresAt: Date.parse("2026-02-01T00:00:00Z"),
  vulnerability: "CVE-2099-0001",
  ...over,
});

describe("exception scope and validation", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("refuses exceptions without reason, owner, future expiry or scope, and bad scopes, saying why", () => {
    const bad: [Partial<ExceptionInput>, RegExp][] = [
      [{ reason: " " }, /a reason is required/],
      [{ owner: "" }, /an owner is required/],
      [{ expiresAt: now - 1 }, /has already passed/],
      [{ expiresAt: NaN }, /an expiry date is required/],
      [{ vulnerability: undefined }, /needs a scope .* it would suppress everything/],
      [{ repositories: ["Prod/API"] }, /"Prod\/API" is not a repository name or pattern/],
      [{ repositories: ["prod//x"] }, /not a repository name or pattern/],
      [{ imageDigest: "sha256:abc" }, /is not sha256:<64 hex>/],
      [{ packageVersion: "1.0" }, /a package version needs a package name/],
      [{ name: "" }, /name ""/],
    ];
    for (const [over, message] of bad) expect(() => validateException(base(over), now)).toThrow(message);
    expect(() => validateException(base({ expiresAt: now - 1 }), null)).not.toThrow();
    expect(() =>
      validateException(base({ repositories: ["prod/**", "team/*/api", "**"] }), now),
    ).not.toThrow();
    expect(() => validateException(base(), now)).not.toThrow(ExceptionError);
  });

  it("is a SUPPRESS filter: EQUALS criteria, wildcard repositories as a tag, owner/source/expiry tags", () => {
    expect(
      exceptionFilter(
        base({ repositories: ["prod/**", "ops/api"], package: "base-files", packageVersion: "12.4" }),
        "cli",
      ),
    ).toEqual({
      name: "accept-0001",
      action: "SUPPRESS",
      criteria: {
        vulnerabilityId: [{ comparison: "EQUALS", value: "CVE-2099-0001" }],
        vulnerablePackages: [
          {
            name: { comparison: "EQUALS", value: "base-files" },
            version: { comparison: "EQUALS", value: "12.4" },
          },
        ],
      },
      reason: "base-files ships no code",
      tags: {
        "drydock:owner": "alice@example.com",
        "drydock:source": "cli",
        "drydock:expires-at": "2026-02-01T00:00:00.000Z",
        "drydock:repository-pattern": "prod/**,ops/api",
      },
    });
    // Exact names only: Inspector's own criteria say it, no tag needed.
    const exact = exceptionFilter(base({ repositories: ["ops/api"] }), "config");
    expect(exact.criteria.ecrImageRepositoryName).toEqual([{ comparison: "EQUALS", value: "ops/api" }]);
    expect(exact.tags?.["drydock:repository-pattern"]).toBeUndefined();
  });

  it("covers findings for drydock scan by the same scope", () => {
    const f = testFinding({
      vulnerabilityId: "CVE-2099-0001",
      package: { name: "openssl", version: "1:3.0.7-1" },
    });
    expect(exceptionCovers({ vulnerability: "CVE-2099-0001" }, f)).toBe(true);
    expect(exceptionCovers({ vulnerability: "CVE-2099-0002" }, f)).toBe(false);
    expect(exceptionCovers({ package: "openssl", packageVersion: "3.0.7" }, f)).toBe(true);
    expect(exceptionCovers({ package: "openssl", packageVersion: "3.0.8" }, f)).toBe(false);
    expect(exceptionCovers({ repositories: ["prod/**"] }, f, "prod/a/b")).toBe(true);
    expect(exceptionCovers({ repositories: ["prod/*"] }, f, "prod/a/b")).toBe(false);
    expect(exceptionCovers({ repositories: ["prod/**"] }, f)).toBe(false);
    expect(
      exceptionCovers({ imageDigest: `sha256:${"a".repeat(64)}` }, f, "x", `sha256:${"a".repeat(64)}`),
    ).toBe(true);
  });

  it("reads expiry days as the end of that day (UTC), times as given", () => {
    expect(expiryOf("2026-12-31")).toBe(Date.parse("2027-01-01T00:00:00Z"));
    expect(expiryOf("2026-12-31T12:00:00Z")).toBe(Date.parse("2026-12-31T12:00:00Z"));
    expect(expiryOf("2026-02-30")).toBeNaN();
    expect(expiryOf("soon")).toBeNaN();
    expect(DAY).toBe(86_400_000);
  });
});

describe("exceptions on the registry (SUPPRESS filters)", () => {
  let w: SuppressionWorld;
  beforeEach(async () => {
    w = await openSuppressionWorld();
  });
  afterEach(async () => {
    await w.close();
  });

  it("a repository wildcard suppresses the findings of the repositories it names, with why; expiry ends it", async () => {
    const img = debianImage();
    const digests: Record<string, string> = {};
    for (const repo of ["prod/api", "prod/team/web", "dev/api"]) {
      digests[repo] = await pushImage(w.registry, repo, img);
      await w.scanned(repo, digests[repo]);
    }
    const seq = (await readEvents(w.meta, 0)).at(-1)!.seq;
    const by = AwsPrincipal.unrestricted(ACCOUNT, undefined, "alice");
    const f = await addException(w.inspector, base({ repositories: ["prod/**"] }), "cli", by, w.clock.now);
    expect(await w.statuses("prod/api", digests["prod/api"]!)).toEqual({
      "CVE-2099-0001": "SUPPRESSED",
      "CVE-2099-0002": "ACTIVE",
    });
    expect((await w.statuses("prod/team/web", digests["prod/team/web"]!))["CVE-2099-0001"]).toBe(
      "SUPPRESSED",
    );
    expect((await w.statuses("dev/api", digests["dev/api"]!))["CVE-2099-0001"]).toBe("ACTIVE");
    // Audited: the filter's change event names who, with the owner and pattern tags.
    const events = (await readEvents(w.meta, seq)).map((e) => e.event);
    const audit = events.find((e) => e["detail-type"] === "Drydock Suppression Change")!;
    expect(audit.detail).toMatchObject({
      change: "CREATED",
      by: `arn:aws:iam::${ACCOUNT}:user/alice`,
      "findings-changed": 2,
      filter: {
        name: "accept-0001",
        tags: { "drydock:owner": "alice@example.com", "drydock:repository-pattern": "prod/**" },
      },
    });
    // The finding says why (ListFindings' drydock member).
    const listed = await w.inspector.listFindings(
      { sort: { field: "SEVERITY", sortOrder: "DESC" }, maxResults: 10 } as never,
      admin,
    );
    const suppressed = listed.items.filter((x) => x.status === "SUPPRESSED");
    expect(suppressed).toHaveLength(2);
    expect(suppressed[0]!.drydock?.suppressedBy).toEqual([
      {
        kind: "exception",
        name: "accept-0001",
        arn: f.arn,
        reason: "base-files ships no code",
        owner: "alice@example.com",
        expiresAt: "2026-02-01T00:00:00.000Z",
      },
    ]);
    // Listed with its scope.
    const list = await listExceptions(w.inspector, async () => false);
    expect(list).toMatchObject([
      {
        name: "accept-0001",
        owner: "alice@example.com",
        source: "cli",
        repositories: ["prod/**"],
        vulnerability: "CVE-2099-0001",
      },
    ]);

    // Expiry: ACTIVE again, with an EXPIRED audit event.
    w.clock.now = Date.parse("2026-02-01T00:00:01Z");
    expect(await w.inspector.expireFilters()).toBe(1);
    expect((await w.statuses("prod/api", digests["prod/api"]!))["CVE-2099-0001"]).toBe("ACTIVE");
    const last = (await readEvents(w.meta, seq)).map((e) => e.event).at(-1)!;
    expect(last.detail).toMatchObject({ change: "EXPIRED", by: "drydock", "findings-changed": 2 });
  });

  it("tagging a filter with drydock:repository-pattern (or removing it) re-decides its findings at once", async () => {
    const prod = await pushImage(w.registry, "prod/api", debianImage());
    await w.scanned("prod/api", prod);
    const dev = await pushImage(w.registry, "dev/api", debianImage());
    await w.scanned("dev/api", dev);
    const f = await w.inspector.createFilter(
      {
        name: "api-made",
        action: "SUPPRESS",
        criteria: { vulnerabilityId: [{ comparison: "EQUALS", value: "CVE-2099-0002" }] },
      },
      admin,
    );
    expect((await w.statuses("dev/api", dev))["CVE-2099-0002"]).toBe("SUPPRESSED");
    await w.inspector.tagResource(f.arn, { "drydock:repository-pattern": "prod/*" }, admin);
    expect((await w.statuses("dev/api", dev))["CVE-2099-0002"]).toBe("ACTIVE");
    expect((await w.statuses("prod/api", prod))["CVE-2099-0002"]).toBe("SUPPRESSED");
    await w.inspector.untagResource(f.arn, ["drydock:repository-pattern"], admin);
    expect((await w.statuses("dev/api", dev))["CVE-2099-0002"]).toBe("SUPPRESSED");
  });

  it("the configuration's exceptions are made, replaced when changed and removed when gone", async () => {
    const digest = await pushImage(w.registry, "prod/api", debianImage());
    await w.scanned("prod/api", digest);
    const cfg = AwsPrincipal.unrestricted(ACCOUNT, undefined, "drydock-config");
    expect(await syncConfigExceptions(w.inspector, [base({ repositories: ["prod/*"] })], cfg)).toEqual({
      created: ["config/accept-0001"],
      replaced: [],
      removed: [],
    });
    expect((await w.statuses("prod/api", digest))["CVE-2099-0001"]).toBe("SUPPRESSED");
    // The same configuration again: nothing changes.
    expect(await syncConfigExceptions(w.inspector, [base({ repositories: ["prod/*"] })], cfg)).toEqual({
      created: [],
      replaced: [],
      removed: [],
    });
    // Changed scope: replaced.
    expect(
      await syncConfigExceptions(
        w.inspector,
        [base({ repositories: ["prod/*"], vulnerability: "CVE-2099-0002" })],
        cfg,
      ),
    ).toMatchObject({ replaced: ["config/accept-0001"] });
    expect(await w.statuses("prod/api", digest)).toEqual({
      "CVE-2099-0001": "ACTIVE",
      "CVE-2099-0002": "SUPPRESSED",
    });
    // A plain filter and a CLI exception are not the configuration's: never removed by it.
    await addException(w.inspector, base({ name: "cli-one" }), "cli", admin, w.clock.now);
    expect(await syncConfigExceptions(w.inspector, [], cfg)).toEqual({
      created: [],
      replaced: [],
      removed: ["config/accept-0001"],
    });
    expect((await listExceptions(w.inspector, async () => false)).map((e) => e.name)).toEqual(["cli-one"]);
    // Two nodes starting with the same configuration at once: one filter, neither start fails.
    const both = await Promise.all([
      syncConfigExceptions(w.inspector, [base({ name: "twin" })], cfg),
      syncConfigExceptions(w.inspector, [base({ name: "twin" })], cfg),
    ]);
    expect(both.flatMap((r) => r.created)).toEqual(["config/twin"]);
    expect(await syncConfigExceptions(w.inspector, [], cfg)).toMatchObject({ removed: ["config/twin"] });
    // Bad configuration entries are refused, nothing changed.
    await expect(
      syncConfigExceptions(w.inspector, [base({ vulnerability: undefined })], cfg),
    ).rejects.toThrow(/needs a scope/);
    expect((await listExceptions(w.inspector, async () => false)).map((e) => e.name)).toEqual(["cli-one"]);
  });
});
