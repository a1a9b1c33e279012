import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateScanningConfiguration } from "../../scan/filters.js";
import { ScanError } from "../../scan/types.js";
import { ConsoleError } from "./router.js";
import { readDraft } from "./scanning.js";
import { readInput } from "./suppression.js";

/**
 * Property tests of the settings views' readers of untrusted input: the preview's draft (query
 * parameters `scanType` and `rules`) and a suppression rule's body. Whatever they are given,
 * they answer a well-formed value or a 400 ConsoleError, never another error.
 */

function outcome<T>(fn: () => T): T | ConsoleError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConsoleError && e.status === 400 && e.code === "BadParameter") return e;
    throw e;
  }
}

const frequency = fc.constantFrom("SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL", "SOMETIMES", "");
const draftRules = fc.oneof(
  fc.string(),
  fc.json(),
  fc
    .array(fc.record({ scanFrequency: frequency, filters: fc.array(fc.string(), { maxLength: 5 }) }), {
      maxLength: 4,
    })
    .map((r) => JSON.stringify(r)),
);

describe("readDraft (scanning preview)", () => {
  it("reads any query as a draft or a 400", () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom("BASIC", "ENHANCED", "FULL", " basic", ""), { nil: undefined }),
        fc.option(draftRules, { nil: undefined }),
        (scanType, rules) => {
          const r = outcome(() => readDraft({ scanType, rules }));
          if (r instanceof ConsoleError) return;
          expect(["BASIC", "ENHANCED"]).toContain(r.scanType);
          for (const rule of r.rules) {
            expect(["SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"]).toContain(rule.scanFrequency);
            for (const f of rule.repositoryFilters) expect(f.filterType).toBe("WILDCARD");
          }
          // The draft may be one ECR refuses: the preview says so with ECR's own check.
          try {
            validateScanningConfiguration(r);
          } catch (e) {
            expect(e).toBeInstanceOf(ScanError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("readInput (suppression rule body)", () => {
  const field = fc.oneof(fc.string(), fc.constant(undefined), fc.integer(), fc.constant(null));
  it("reads any body as an exception or a 400", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              name: field,
              reason: field,
              owner: field,
              expires: fc.oneof(
                field,
                fc.constantFrom("2026-12-31", "2026-02-30", "2026-12-31T10:00:00Z", "now"),
              ),
              vulnerability: field,
              repositories: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), field),
            },
            { requiredKeys: [] },
          ),
        ),
        (body) => {
          const r = outcome(() => readInput(body));
          if (r instanceof ConsoleError) return;
          expect(Number.isFinite(r.expiresAt)).toBe(true);
          expect(typeof r.name).toBe("string");
          for (const x of r.repositories ?? []) expect(x.trim()).toBe(x);
        },
      ),
      { numRuns: 500 },
    );
  });
});
