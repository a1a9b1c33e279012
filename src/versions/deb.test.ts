import { describe, expect, it } from "vitest";
import { checkPairs, describeVectors, type OsvVectors, type VectorCase } from "./testing.js";
import { compareDeb, debRelation, debScheme, parseDeb, verrevcmp, type DebRelation } from "./deb.js";
import { versionSchemes } from "./registry.js";

type Case = VectorCase;

interface DpkgFile {
  cases: Case[];
  part_cases: [string, string, number, string][];
  relation_cases: { a: string; op: DebRelation; b: string; expected: boolean }[];
  valid: string[];
  invalid: { version: string; severity: string }[];
  apt_cases: Case[];
}

describeVectors<{ d: DpkgFile }>("deb against dpkg/apt vectors", { d: "dpkg.json" }, ({ d }) => {
  // dpkg's cases are one-directional as written upstream; the order is antisymmetric, so
  // both directions are checked.
  it("dpkg cases, both directions", () => expect(checkPairs(d.cases, compareDeb)).toEqual([]));
  it("apt cases (the file carries each mirrored pair)", () =>
    expect(checkPairs(d.apt_cases, compareDeb)).toEqual([]));
  it("verrevcmp on bare fragments", () =>
    expect(
      checkPairs(
        d.part_cases.map(([a, b, s]) => [a, b, s] as Case),
        verrevcmp,
      ),
    ).toEqual([]));
  it("relation operators", () => {
    for (const r of d.relation_cases)
      expect(debRelation(r.a, r.op, r.b), `${r.a} ${r.op} ${r.b}`).toBe(r.expected);
  });
  it("valid versions", () => expect(d.valid.filter((v) => !debScheme.isValid(v))).toEqual([]));
  it("invalid versions (errors and warnings)", () =>
    expect(d.invalid.filter((v) => debScheme.isValid(v.version))).toEqual([]));
});

describeVectors<{ o: OsvVectors }>(
  "deb against OSV's Debian lists",
  { o: "osv-semantic/debian.json" },
  ({ o }) => {
    it("hand-written cases", () => expect(checkPairs(o.cases, compareDeb)).toEqual([]));
    it("generated cases (dpkg --compare-versions over real advisory versions)", () =>
      expect(checkPairs(o.generated_cases, compareDeb)).toEqual([]));
  },
);

describe("deb", () => {
  it("is registered", () => expect(versionSchemes.deb).toBe(debScheme));

  it("splits epoch, upstream and revision at the first colon and the last hyphen", () => {
    expect(parseDeb("1:2.3-4-5")).toEqual({ epoch: 1, upstream: "2.3-4", revision: "5" });
    expect(parseDeb(" 2.3 ")).toEqual({ epoch: 0, upstream: "2.3", revision: "" });
    expect(parseDeb("1.0-")).toBeNull();
  });

  it("compares warning-level versions as dpkg does and error-level ones after all others", () => {
    expect(compareDeb("0:abc-1", "0:abd-1")).toBe(-1); // warning: not starting with a digit
    expect(compareDeb("1.0-", "999")).toBe(1);
    expect(compareDeb("999", "1.0-")).toBe(-1);
    expect(compareDeb("1.0-", "2.0-")).toBe(-1);
    expect(compareDeb("", "0")).toBe(1);
  });

  it("is a total order on a mixed sample", () => {
    const sample = ["1.0", "1.0-1", "1:0.1", "1.0~rc1", "1.0+b1", "abc", "1.0-", "", "0:1.0", "1.00", "2"];
    for (const a of sample) {
      expect(compareDeb(a, a)).toBe(0);
      for (const b of sample) {
        expect(compareDeb(a, b) + compareDeb(b, a)).toBe(0);
        for (const c of sample) {
          if (compareDeb(a, b) <= 0 && compareDeb(b, c) <= 0) expect(compareDeb(a, c)).toBeLessThanOrEqual(0);
        }
      }
    }
  });
});
