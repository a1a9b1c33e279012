import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareOsvSemver } from "./osv-semver.js";

const file = join(
  process.env.DRYDOCK_SHARED ?? fileURLToPath(new URL("../../../shared", import.meta.url)),
  "testdata/versions/osv-semantic/semver.json",
);
const missing = existsSync(file) ? null : `${file} not found`;
if (missing) console.warn(`osv-semver vectors skipped: ${missing}`);

describe.skipIf(missing !== null)("OSV SemVer ordering (osv-scalibr semver vectors)", () => {
  const data = missing
    ? { cases: [], generated_cases: [] }
    : (JSON.parse(readFileSync(file, "utf8")) as {
        cases: [string, string, number][];
        generated_cases?: [string, string, number][];
      });
  it("every case holds in both directions", () => {
    const all = [...data.cases, ...(data.generated_cases ?? [])];
    const bad = all.filter(([a, b, s]) => compareOsvSemver(a, b) !== s || compareOsvSemver(b, a) !== -s);
    expect(bad).toEqual([]);
    console.log(`osv-semver: ${all.length - bad.length}/${all.length} cases pass`);
  });

  it("is lenient about the number of components", () => {
    expect(compareOsvSemver("1", "1.0.0")).toBe(0);
    expect(compareOsvSemver("0.0.0.1", "0.0.0")).toBe(1);
    expect(compareOsvSemver("v1.2.3", "1.2.3+build")).toBe(0);
  });
});
