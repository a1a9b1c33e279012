import { describe, expect, it } from "vitest";
import { decideRepository, filterMatches, validateScanningConfiguration } from "./filters.js";
import type { RegistryScanningConfiguration, ScanningRule } from "./types.js";

const NAMES = ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"] as const;

// ECR's table (image-scanning-filters.html): filter ↓, repository name →.
const TABLE: Record<string, Record<(typeof NAMES)[number], boolean>> = {
  prod: { prod: true, "repo-prod": true, "prod-repo": true, "repo-prod-repo": true, prodrepo: true },
  "*prod": { prod: true, "repo-prod": true, "prod-repo": false, "repo-prod-repo": false, prodrepo: false },
  "prod*": { prod: true, "repo-prod": false, "prod-repo": true, "repo-prod-repo": false, prodrepo: true },
  "*prod*": { prod: true, "repo-prod": true, "prod-repo": true, "repo-prod-repo": true, prodrepo: true },
  "prod*repo": {
    prod: false,
    "repo-prod": false,
    "prod-repo": true,
    "repo-prod-repo": false,
    prodrepo: true,
  },
};

const rule = (scanFrequency: ScanningRule["scanFrequency"], ...filters: string[]): ScanningRule => ({
  scanFrequency,
  repositoryFilters: filters.map((filter) => ({ filter, filterType: "WILDCARD" })),
});

describe("repository filters (ECR's documented table)", () => {
  const cells = Object.entries(TABLE).flatMap(([filter, row]) =>
    NAMES.map((name) => [filter, name, row[name]] as const),
  );
  it("has all 25 cells", () => expect(cells).toHaveLength(25));
  it.each(cells)("filter %s, repository %s → %s", (filter, name, expected) => {
    expect(filterMatches(filter, name)).toBe(expected);
  });
  it("treats regex characters in filters literally", () => {
    expect(filterMatches("a.b*", "a.bc")).toBe(true);
    expect(filterMatches("a.b*", "axbc")).toBe(false);
    expect(filterMatches("team/*", "team/app")).toBe(true);
  });
});

describe("scanning decisions", () => {
  it("BASIC: a scan-on-push filter match scans on push; no match is MANUAL", () => {
    const c: RegistryScanningConfiguration = { scanType: "BASIC", rules: [rule("SCAN_ON_PUSH", "prod")] };
    expect(decideRepository(c, "repo-prod")).toEqual({
      scanFrequency: "SCAN_ON_PUSH",
      appliedScanFilters: [{ filter: "prod", filterType: "WILDCARD" }],
      scanOnPush: true,
      manualAllowed: true,
    });
    expect(decideRepository(c, "dev")).toMatchObject({
      scanFrequency: "MANUAL",
      scanOnPush: false,
      manualAllowed: true,
    });
  });

  it("ENHANCED: continuous wins over scan on push when both match", () => {
    const c: RegistryScanningConfiguration = {
      scanType: "ENHANCED",
      rules: [rule("SCAN_ON_PUSH", "*"), rule("CONTINUOUS_SCAN", "prod*")],
    };
    expect(decideRepository(c, "prod-api")).toMatchObject({
      scanFrequency: "CONTINUOUS_SCAN",
      appliedScanFilters: [{ filter: "prod*", filterType: "WILDCARD" }],
      scanOnPush: true,
    });
    expect(decideRepository(c, "dev-api")).toMatchObject({ scanFrequency: "SCAN_ON_PUSH", scanOnPush: true });
  });

  it("ENHANCED: a repository matching no filter is not scanned (reported MANUAL, no manual scans)", () => {
    const c: RegistryScanningConfiguration = {
      scanType: "ENHANCED",
      rules: [rule("CONTINUOUS_SCAN", "prod")],
    };
    expect(decideRepository(c, "dev")).toEqual({
      scanFrequency: "MANUAL",
      appliedScanFilters: [],
      scanOnPush: false,
      manualAllowed: false,
    });
  });

  it("the repository-level scanOnPush flag applies to BASIC only when no rules are set", () => {
    const none: RegistryScanningConfiguration = { scanType: "BASIC", rules: [] };
    expect(decideRepository(none, "a", true)).toMatchObject({
      scanFrequency: "SCAN_ON_PUSH",
      scanOnPush: true,
    });
    expect(decideRepository(none, "a", false)).toMatchObject({ scanFrequency: "MANUAL", scanOnPush: false });
    const withRules: RegistryScanningConfiguration = {
      scanType: "BASIC",
      rules: [rule("SCAN_ON_PUSH", "prod")],
    };
    expect(decideRepository(withRules, "dev", true)).toMatchObject({ scanFrequency: "MANUAL" });
    expect(decideRepository({ scanType: "ENHANCED", rules: [] }, "a", true)).toMatchObject({
      scanOnPush: false,
    });
  });

  it("validates as ECR does: ≤2 rules, ≤100 filters, frequencies per scan type, filter syntax", () => {
    const ok = (c: RegistryScanningConfiguration) => () => validateScanningConfiguration(c);
    expect(ok({ scanType: "BASIC", rules: [rule("SCAN_ON_PUSH", "*")] })).not.toThrow();
    expect(
      ok({ scanType: "ENHANCED", rules: [rule("SCAN_ON_PUSH", "a"), rule("CONTINUOUS_SCAN", "b")] }),
    ).not.toThrow();
    expect(ok({ scanType: "BASIC", rules: [rule("CONTINUOUS_SCAN", "*")] })).toThrow(
      /not allowed for scanType BASIC/,
    );
    expect(
      ok({
        scanType: "BASIC",
        rules: [rule("SCAN_ON_PUSH", "a"), rule("SCAN_ON_PUSH", "b"), rule("SCAN_ON_PUSH", "c")],
      }),
    ).toThrow(/at most 2/);
    const many = Array.from({ length: 101 }, (_, i) => `r${i}`);
    expect(ok({ scanType: "BASIC", rules: [rule("SCAN_ON_PUSH", ...many)] })).toThrow(/at most 100/);
    expect(ok({ scanType: "BASIC", rules: [rule("SCAN_ON_PUSH", ...many.slice(0, 100))] })).not.toThrow();
    expect(ok({ scanType: "BASIC", rules: [rule("SCAN_ON_PUSH", "Prod")] })).toThrow(
      /invalid repository filter/,
    );
    expect(ok({ scanType: "BASIC", rules: [rule("MANUAL", "a")] })).toThrow(ScanErrorLike);
  });
});

const ScanErrorLike = /not allowed/;
