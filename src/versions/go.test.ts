import { describe, expect, it } from "vitest";
import { checkPairs, describeVectors } from "./testing.js";
import { byVersionGo, canonicalGo, compareGo, goScheme } from "./go.js";
import { versionSchemes } from "./registry.js";

interface GoFile {
  cases: [string, string, number][];
  canonical: [string, string][];
  sorted: string[];
}

describeVectors<{ d: GoFile }>(
  "go against golang.org/x/mod/semver's table",
  { d: "golang.json" },
  ({ d }) => {
    it("Compare on every ordered pair, both directions", () => {
      expect(checkPairs(d.cases, compareGo)).toEqual([]);
    });
    it("Canonical", () => {
      for (const [v, want] of d.canonical) expect(canonicalGo(v), v).toBe(want);
    });
    it("IsValid is Canonical != ''", () => {
      for (const [v, want] of d.canonical) expect(goScheme.isValid(v), v).toBe(want !== "");
    });
    it("Sort", () => expect(d.canonical.map(([v]) => v).sort(byVersionGo)).toEqual(d.sorted));
  },
);

describe("go", () => {
  it("is registered", () => expect(versionSchemes.go).toBe(goScheme));

  it("orders pseudo-versions and ignores +incompatible", () => {
    expect(compareGo("v0.0.0-20210101000000-abcdef123456", "v0.0.0-20220101000000-abcdef123456")).toBe(-1);
    expect(compareGo("v0.0.0-20210101000000-abcdef123456", "v0.0.1")).toBe(-1);
    expect(compareGo("v1.2.4-0.20210101000000-abcdef123456", "v1.2.3")).toBe(1);
    expect(compareGo("v2.0.0+incompatible", "v2.0.0")).toBe(0);
  });

  it("reads OSV's unprefixed versions as if they had the v, without calling them valid", () => {
    expect(compareGo("1.2.3", "v1.2.3")).toBe(0);
    expect(compareGo("0", "v0.0.1")).toBe(-1);
    expect(goScheme.isValid("1.2.3")).toBe(false);
    expect(compareGo("bad", "0")).toBe(-1);
  });

  it("compares numbers of any length", () => {
    expect(compareGo("v99999999999999999999.0.0", "v100000000000000000000.0.0")).toBe(-1);
  });
});
