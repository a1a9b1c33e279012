import { expect, it } from "vitest";
import { compareOsvSemver } from "./osv-semver.js";
import { checkPairs, describeVectors, type OsvVectors } from "./testing.js";

describeVectors<{ data: OsvVectors }>(
  "OSV SemVer ordering (osv-scalibr semver vectors)",
  { data: "osv-semantic/semver.json" },
  ({ data }) => {
    it("every case holds in both directions", () => {
      const all = [...data.cases, ...(data.generated_cases ?? [])];
      const bad = checkPairs(all, compareOsvSemver);
      expect(bad).toEqual([]);
      console.log(`osv-semver: ${all.length - bad.length}/${all.length} cases pass`);
    });

    it("is lenient about the number of components", () => {
      expect(compareOsvSemver("1", "1.0.0")).toBe(0);
      expect(compareOsvSemver("0.0.0.1", "0.0.0")).toBe(1);
      expect(compareOsvSemver("v1.2.3", "1.2.3+build")).toBe(0);
    });
  },
);
