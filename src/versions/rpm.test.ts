import { describe, expect, it } from "vitest";
import { checkPairs, describeVectors, type OsvVectors, type VectorCase } from "./testing.js";
import { versionSchemes } from "./registry.js";
import { compareRpm, parseEvr, rpmScheme, rpmvercmp } from "./rpm.js";

type Case = VectorCase;

interface RpmFile {
  cases: Case[];
  disabled_oddities: Case[];
  evr_cases: Case[];
  evr_parse: { evr: string; epoch: string | null; version: string; release: string | null }[];
}

describeVectors<{ d: RpmFile }>("rpm against rpm's own vectors", { d: "rpm.json" }, ({ d }) => {
  it("rpmvercmp on single strings, both directions", () =>
    expect(checkPairs(d.cases, rpmvercmp)).toEqual([]));
  // Commented out upstream as arguably buggy, but rpm 4.18 still behaves so (PROVENANCE.md);
  // matching rpm matters more than the comment.
  it("the disabled oddities (RhBug:811992, non-ASCII as separators) hold too", () =>
    expect(checkPairs(d.disabled_oddities, rpmvercmp)).toEqual([]));
  it("full EVR comparison", () => expect(checkPairs(d.evr_cases, compareRpm)).toEqual([]));
  it("EVR splitting", () => {
    for (const e of d.evr_parse) {
      expect(parseEvr(e.evr)).toEqual({ epoch: e.epoch, version: e.version, release: e.release });
    }
  });
});

describeVectors<{ o: OsvVectors }>(
  "rpm against OSV's Red Hat list",
  { o: "osv-semantic/redhat.json" },
  ({ o }) => {
    it("all cases, both directions", () =>
      expect(checkPairs([...o.cases, ...o.generated_cases], compareRpm)).toEqual([]));
  },
);

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
