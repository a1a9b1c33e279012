import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compareDeb, debRelation, debScheme, parseDeb, verrevcmp, type DebRelation } from "./deb.js";
import { versionSchemes } from "./registry.js";

const dir = process.env.DRYDOCK_SHARED
  ? join(process.env.DRYDOCK_SHARED, "testdata/versions")
  : fileURLToPath(new URL("../../../shared/testdata/versions", import.meta.url));
const present = existsSync(join(dir, "dpkg.json"));
const load = <T>(file: string): T => JSON.parse(readFileSync(join(dir, file), "utf8")) as T;

type Case = [string, string, number];

/** compare(a, b) == sign, and with `both` also compare(b, a) == -sign; returns the failures. */
function check(cases: readonly Case[], cmp: (a: string, b: string) => number, both: boolean): string[] {
  const bad: string[] = [];
  for (const [a, b, sign] of cases) {
    const ab = cmp(a, b);
    const ba = both ? cmp(b, a) : -sign;
    if (ab !== sign || ba !== -sign) bad.push(`${a} vs ${b}: want ${sign}, got ${ab} / reverse ${ba}`);
  }
  return bad;
}

interface DpkgFile {
  cases: Case[];
  part_cases: [string, string, number, string][];
  relation_cases: { a: string; op: DebRelation; b: string; expected: boolean }[];
  valid: string[];
  invalid: { version: string; severity: string }[];
  apt_cases: Case[];
}

interface OsvFile {
  cases: Case[];
  generated_cases: Case[];
}

describe.skipIf(!present)(`deb against dpkg/apt vectors (${dir})`, () => {
  const d = present ? load<DpkgFile>("dpkg.json") : null;

  // dpkg's cases are one-directional as written upstream; the order is antisymmetric, so
  // both directions are checked.
  it("dpkg cases, both directions", () => expect(check(d!.cases, compareDeb, true)).toEqual([]));
  it("apt cases (the file carries each mirrored pair)", () =>
    expect(check(d!.apt_cases, compareDeb, true)).toEqual([]));
  it("verrevcmp on bare fragments", () =>
    expect(
      check(
        d!.part_cases.map(([a, b, s]) => [a, b, s] as Case),
        verrevcmp,
        true,
      ),
    ).toEqual([]));
  it("relation operators", () => {
    for (const r of d!.relation_cases)
      expect(debRelation(r.a, r.op, r.b), `${r.a} ${r.op} ${r.b}`).toBe(r.expected);
  });
  it("valid versions", () => expect(d!.valid.filter((v) => !debScheme.isValid(v))).toEqual([]));
  it("invalid versions (errors and warnings)", () =>
    expect(d!.invalid.filter((v) => debScheme.isValid(v.version))).toEqual([]));
});

describe.skipIf(!present)(`deb against OSV's Debian lists (${dir}/osv-semantic)`, () => {
  const o = present ? load<OsvFile>("osv-semantic/debian.json") : null;
  it("hand-written cases", () => expect(check(o!.cases, compareDeb, true)).toEqual([]));
  it("generated cases (dpkg --compare-versions over real advisory versions)", () =>
    expect(check(o!.generated_cases, compareDeb, true)).toEqual([]));
});

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
