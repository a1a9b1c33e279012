import { describe, expect, it } from "vitest";
import { checkPairs, describeVectors, type OsvVectors, type VectorCase } from "./testing.js";
import { apkScheme, apkVersionMatch, compareApk, isValidApk } from "./apk.js";
import { versionSchemes } from "./registry.js";

type Case = VectorCase;

const check = (cases: readonly Case[]): string[] => checkPairs(cases, compareApk);

interface ApkFile {
  cases: Case[];
  fuzzy_cases: { version: string; op: string; against: string; expected: boolean }[];
  valid: string[];
  invalid: string[];
}

/**
 * The lines of OSV's hand-written Alpine fixture that cannot pass. None is an apk version
 * (apk_version_validate rejects every one) and the expectations come from OSV's own Go parser,
 * not from apk. apk-tools reads `.r1` as an empty digit component followed by a letter but `r1`
 * as a letter, so the token type decides `0.r1` vs `0r2` and `0.8.21.r2` vs `0.8.21r2`
 * (apk-tools 2 says 1 for both, as we do); `1-ruff` has an empty revision, which apk-tools 2
 * also puts above `1`; `1--ruff1` breaks at its second hyphen, `1-ruff2` only after a revision,
 * so they are not equal.
 */
const OSV_NOT_APK: readonly Case[] = [
  ["0.r1", "0r2", -1],
  ["0.8.21.r2", "0.8.21r2", -1],
  ["1", "1-ruff", 1],
  ["1-ruff2", "1--ruff1", 0],
];

const key = ([a, b]: Case): string => `${a}\t${b}`;

describeVectors<{ d: ApkFile }>("apk against apk-tools' version.data", { d: "apk.json" }, ({ d }) => {
  it("cases, both directions", () => expect(check(d.cases)).toEqual([]));
  it("fuzzy matches", () => {
    for (const f of d.fuzzy_cases) {
      expect(apkVersionMatch(f.version, f.op, f.against), `${f.version} ${f.op} ${f.against}`).toBe(
        f.expected,
      );
    }
  });
  it("valid versions", () => expect(d.valid.filter((v) => !isValidApk(v))).toEqual([]));
  it("invalid versions", () => expect(d.invalid.filter((v) => isValidApk(v))).toEqual([]));
});

describeVectors<{ o: OsvVectors }>(
  "apk against OSV's Alpine lists",
  { o: "osv-semantic/alpine.json" },
  ({ o }) => {
    const known = new Set(OSV_NOT_APK.map(key));

    it("generated cases (apk version -t over real secdb versions)", () =>
      expect(check(o.generated_cases)).toEqual([]));
    it("hand-written cases, except the listed non-apk strings", () =>
      expect(check(o.cases.filter((c) => !known.has(key(c))))).toEqual([]));
    it("the listed exceptions are in the file, are not apk versions, and still fail", () => {
      const inFile = new Set(o.cases.map(key));
      for (const c of OSV_NOT_APK) {
        expect(inFile.has(key(c)), key(c)).toBe(true);
        expect(isValidApk(c[0]) && isValidApk(c[1]), key(c)).toBe(false);
        expect(check([c]), key(c)).not.toEqual([]);
      }
    });
  },
);

describe("apk", () => {
  it("is registered", () => expect(versionSchemes.apk).toBe(apkScheme));

  it("reads digits after a letter as apk-tools 2 does, though apk 3 calls them invalid", () => {
    expect(isValidApk("6.0.2p1-r8")).toBe(false);
    expect(compareApk("6.0.2p1-r0", "6.0.2p1-r8")).toBe(-1);
    expect(compareApk("6.0.2p2-r0", "6.0.2p1-r8")).toBe(1);
  });

  it("orders commit hashes and revisions", () => {
    expect(compareApk("1.0~abc-r1", "1.0~abd-r0")).toBe(-1);
    expect(compareApk("1.0_rc1", "1.0")).toBe(-1);
    expect(compareApk("1.0_p1", "1.0")).toBe(1);
  });
});
