import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { VersionScheme } from "./types.js";

/**
 * Test support for version schemes: the upstream test vectors of ../shared/testdata/versions
 * (what each file holds: PROVENANCE.md there), the order check every vectors test makes, and
 * the VersionScheme contract.
 */

/** ../shared/testdata/versions (DRYDOCK_SHARED names another ../shared). */
export const versionVectors = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../../shared"),
  "testdata/versions",
);

const loaded = new Map<string, unknown>();

/** A vectors file (relative to versionVectors), parsed once; null when it is absent. */
export function loadVectors<T>(file: string): T | null {
  if (!loaded.has(file)) {
    const path = join(versionVectors, file);
    loaded.set(file, existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : null);
  }
  return loaded.get(file) as T | null;
}

/**
 * A describe() over vectors files: `body` gets each file parsed, under the name it was given
 * (`{ d: "dpkg.json" }` → `({ d }) => ...`). Without one of them (no ../shared), the suite is one
 * skipped test saying which file was not found where.
 */
export function describeVectors<T extends Record<string, unknown>>(
  title: string,
  files: { [K in keyof T]: string },
  body: (vectors: T) => void,
): void {
  const entries = Object.entries(files) as [keyof T, string][];
  const vectors = Object.fromEntries(entries.map(([k, file]) => [k, loadVectors(file)])) as T;
  const missing = entries.filter(([k]) => vectors[k] === null).map(([, file]) => file);
  describe(title, () => {
    if (missing.length)
      it.skip(`${missing.join(", ")} not found in ${versionVectors} (set DRYDOCK_SHARED)`, () => {});
    else body(vectors);
  });
}

/** Two versions and the sign of their comparison: -1, 0 or 1. */
export type VectorCase = [string, string, number];

/** OSV's per-ecosystem lists (osv-semantic/*.json): hand-written cases and generated ones. */
export interface OsvVectors {
  cases: VectorCase[];
  generated_cases: VectorCase[];
}

/** compare(a, b) must be the sign and compare(b, a) its opposite; returns the cases that fail. */
export function checkPairs(
  cases: readonly VectorCase[],
  compare: (a: string, b: string) => number,
): string[] {
  const bad: string[] = [];
  for (const [a, b, sign] of cases) {
    const ab = compare(a, b);
    const ba = compare(b, a);
    if (ab !== sign || ba !== -sign) bad.push(`${a} vs ${b}: want ${sign}, got ${ab} / reverse ${ba}`);
  }
  return bad;
}

/** Junk no scheme may throw on. */
const JUNK = [
  "",
  " ",
  "junk",
  "1..2",
  ".",
  "-",
  "+",
  "v",
  "1.0-",
  "\u0000",
  "💥",
  "9".repeat(40),
  "1.0 beta",
  "[1,2)",
];

/**
 * The VersionScheme contract on a sample of real versions plus junk: compare answers -1/0/1,
 * is antisymmetric and never throws; isValid and satisfies (on `range`) answer booleans; valid
 * versions sort consistently (transitive).
 */
export function describeSchemeContract(scheme: VersionScheme, sampleVersions: string[], range: string): void {
  describe(`${scheme.id} contract: total order on valid versions, no throw on anything`, () => {
    const sample = [...new Set(sampleVersions)].slice(0, 150);
    it("is antisymmetric and never throws, junk included", () => {
      const all = [...sample, ...JUNK];
      const bad: string[] = [];
      for (const a of all) {
        for (const b of all) {
          const ab = scheme.compare(a, b);
          if ((ab !== -1 && ab !== 0 && ab !== 1) || scheme.compare(b, a) !== (-ab || 0))
            bad.push(`${a} / ${b}`);
        }
        if (typeof scheme.isValid(a) !== "boolean") bad.push(`isValid ${a}`);
        if (typeof scheme.satisfies!(a, range) !== "boolean") bad.push(`satisfies ${a}`);
      }
      expect(bad).toEqual([]);
    });
    it("sorts valid versions consistently (transitive)", () => {
      const valid = sample.filter((v) => scheme.isValid(v)).sort(scheme.compare);
      const bad: string[] = [];
      for (let i = 0; i < valid.length; i++) {
        for (let j = i + 1; j < valid.length; j++) {
          if (scheme.compare(valid[i]!, valid[j]!) > 0) bad.push(`${valid[i]} > ${valid[j]}`);
        }
      }
      expect(bad).toEqual([]);
    });
  });
}
