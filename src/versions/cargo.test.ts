import { describe, expect, it } from "vitest";
import { checkPairs, describeVectors } from "./testing.js";
import { formatCargoReq, matchesCargoReq, parseCargoReq } from "./cargo-req.js";
import { compareCargo, parseCargoVersion, tryParseCargoVersion } from "./cargo-version.js";
import { cargoScheme } from "./cargo.js";
import { versionSchemes } from "./registry.js";
import { VersionRangeError } from "./types.js";

interface CargoFile {
  cases: [string, string, number][];
  op_cases: [string, "<" | "<=" | ">" | ">=", string, boolean][];
  not_equal: [string, string][];
  parse_errors: { input: string; error: string }[];
}

interface CargoRangesFile {
  cases: { version: string; range: string; expected: boolean; test: string }[];
  errors: { range: string; error: string }[];
  display: [string, string][];
}

const errorOf = (f: () => unknown): string => {
  try {
    f();
    return "no error";
  } catch (e) {
    return (e as Error).message;
  }
};

describeVectors<{ d: CargoFile; r: CargoRangesFile }>(
  "cargo against the semver crate's tests",
  { d: "cargo.json", r: "cargo-ranges.json" },
  ({ d, r }) => {
    it("Ord, both directions (build metadata is the last tiebreaker)", () => {
      expect(checkPairs(d.cases, compareCargo)).toEqual([]);
    });
    it("operator assertions", () => {
      const ops = {
        "<": (c: number) => c < 0,
        "<=": (c: number) => c <= 0,
        ">": (c: number) => c > 0,
        ">=": (c: number) => c >= 0,
      };
      for (const [a, op, b, want] of d.op_cases)
        expect(ops[op](compareCargo(a, b)), `${a} ${op} ${b}`).toBe(want);
    });
    it("not equal", () => {
      for (const [a, b] of d.not_equal) expect(compareCargo(a, b), `${a} ${b}`).not.toBe(0);
    });
    it("parse errors carry the crate's messages", () => {
      for (const e of d.parse_errors)
        expect(
          errorOf(() => parseCargoVersion(e.input)),
          JSON.stringify(e.input),
        ).toBe(e.error);
    });

    it("requirement matching", () => {
      const bad = r.cases.filter((c) => {
        const v = tryParseCargoVersion(c.version);
        return v === null || matchesCargoReq(parseCargoReq(c.range), v) !== c.expected;
      });
      expect(bad).toEqual([]);
    });
    it("requirement errors carry the crate's messages", () => {
      for (const e of r.errors)
        expect(
          errorOf(() => parseCargoReq(e.range)),
          JSON.stringify(e.range),
        ).toBe(e.error);
    });
    it("requirement display", () => {
      for (const [input, want] of r.display) expect(formatCargoReq(parseCargoReq(input)), input).toBe(want);
    });
  },
);

describe("cargo", () => {
  it("is registered", () => expect(versionSchemes.cargo).toBe(cargoScheme));

  it("satisfies through the scheme; bad requirements throw VersionRangeError", () => {
    expect(cargoScheme.satisfies!("1.2.3", ">=1.0, <2")).toBe(true);
    expect(cargoScheme.satisfies!("1.2.3", "1.3")).toBe(false);
    expect(cargoScheme.satisfies!("v1.2.3", "*")).toBe(false);
    expect(() => cargoScheme.satisfies!("1.2.3", "1.0 || 2.0")).toThrow(VersionRangeError);
  });

  it("holds u64 components exactly", () => {
    expect(compareCargo("18446744073709551615.0.0", "18446744073709551614.0.0")).toBe(1);
    expect(compareCargo("9007199254740993.0.0", "9007199254740992.0.0")).toBe(1);
    expect(cargoScheme.isValid("18446744073709551616.0.0")).toBe(false);
    expect(cargoScheme.satisfies!("9007199254740993.0.0", "=9007199254740993")).toBe(true);
    expect(cargoScheme.satisfies!("9007199254740993.0.0", "=9007199254740992")).toBe(false);
  });

  it("orders invalid versions after valid ones, lexically", () => {
    expect(compareCargo("1.0", "2.0.0")).toBe(1);
    expect(compareCargo("1.0", "1.1")).toBe(-1);
  });
});
