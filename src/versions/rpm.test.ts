import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { versionSchemes } from "./registry.js";
import { compareRpm, parseEvr, rpmScheme, rpmvercmp } from "./rpm.js";

const dir = process.env.DRYDOCK_SHARED
  ? join(process.env.DRYDOCK_SHARED, "testdata/versions")
  : fileURLToPath(new URL("../../../shared/testdata/versions", import.meta.url));
const present = existsSync(join(dir, "rpm.json"));
const load = <T>(file: string): T => JSON.parse(readFileSync(join(dir, file), "utf8")) as T;

type Case = [string, string, number];

function check(cases: readonly Case[], cmp: (a: string, b: string) => number): string[] {
  const bad: string[] = [];
  for (const [a, b, sign] of cases) {
    const ab = cmp(a, b);
    const ba = cmp(b, a);
    if (ab !== sign || ba !== -sign) bad.push(`${a} vs ${b}: want ${sign}, got ${ab} / reverse ${ba}`);
  }
  return bad;
}

interface RpmFile {
  cases: Case[];
  disabled_oddities: Case[];
  evr_cases: Case[];
  evr_parse: { evr: string; epoch: string | null; version: string; release: string | null }[];
}

describe.skipIf(!present)(`rpm against rpm's own vectors (${dir})`, () => {
  const d = present ? load<RpmFile>("rpm.json") : null;
  it("rpmvercmp on single strings, both directions", () => expect(check(d!.cases, rpmvercmp)).toEqual([]));
  // Commented out upstream as arguably buggy, but rpm 4.18 still behaves so (PROVENANCE.md);
  // matching rpm matters more than the comment.
  it("the disabled oddities (RhBug:811992, non-ASCII as separators) hold too", () =>
    expect(check(d!.disabled_oddities, rpmvercmp)).toEqual([]));
  it("full EVR comparison", () => expect(check(d!.evr_cases, compareRpm)).toEqual([]));
  it("EVR splitting", () => {
    for (const e of d!.evr_parse) {
      expect(parseEvr(e.evr)).toEqual({ epoch: e.epoch, version: e.version, release: e.release });
    }
  });
});

describe.skipIf(!present)(`rpm against OSV's Red Hat list (${dir}/osv-semantic)`, () => {
  const o = present ? load<{ cases: Case[]; generated_cases: Case[] }>("osv-semantic/redhat.json") : null;
  it("all cases, both directions", () =>
    expect(check([...o!.cases, ...o!.generated_cases], compareRpm)).toEqual([]));
});

describe("rpm", () => {
  it("is registered", () => expect(versionSchemes.rpm).toBe(rpmScheme));

  it("orders a missing release before any release (labelCompare), keeping the order total", () => {
    expect(compareRpm("1.0", "1.0-1")).toBe(-1);
    expect(compareRpm("1.0-1", "1.0")).toBe(1);
    expect(compareRpm("1:1.0", "1.0-99")).toBe(1);
  });

  it("takes only a leading run of digits as the epoch", () => {
    expect(parseEvr("a:1-2")).toEqual({ epoch: null, version: "a:1", release: "2" });
    expect(parseEvr(":1")).toEqual({ epoch: "0", version: "1", release: null });
  });

  it("flags nonsense as invalid but still orders it", () => {
    expect(rpmScheme.isValid("1.2.3-4.el9")).toBe(true);
    expect(rpmScheme.isValid("")).toBe(false);
    expect(rpmScheme.isValid("1.0 beta")).toBe(false);
    expect(rpmScheme.isValid("1.0-")).toBe(false);
    expect(compareRpm("1.0 beta", "1.0")).toBe(1);
  });
});
