import { describe, expect, it } from "vitest";
import type { VersionScheme } from "./types.js";

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
