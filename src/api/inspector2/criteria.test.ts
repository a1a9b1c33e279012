import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareFindings,
  compareSortKeys,
  criteriaAst,
  DEFAULT_SORT,
  matchesFilterCriteria,
  matchesStringFilters,
  sortKeyOf,
} from "./criteria.js";
import { toInspectorFinding, type FindingRecord, type InspectorFinding } from "./finding.js";
import { SORT_FIELDS, type FilterCriteria, type SortCriteria, type StringFilter } from "./shapes.js";
import { findingRecord } from "./testing.js";

const R = { accountId: "123456789012", region: "us-east-1" };
const F = (o: Partial<FindingRecord> = {}) => toInspectorFinding(findingRecord(o), R);
const eq = (value: string): StringFilter => ({ comparison: "EQUALS", value });
const ne = (value: string): StringFilter => ({ comparison: "NOT_EQUALS", value });
const prefix = (value: string): StringFilter => ({ comparison: "PREFIX", value });

describe("matchesFilterCriteria", () => {
  const high = F({ reportedSeverity: "HIGH", repositoryName: "team/app", imageTags: ["1.0", "latest"] });
  const crit = F({ reportedSeverity: "CRITICAL", repositoryName: "team/db", imageTags: [] });
  const low = F({ reportedSeverity: "LOW", repositoryName: "other/x", imageTags: ["dev"] });

  const matching = (c: FilterCriteria) => [high, crit, low].filter((f) => matchesFilterCriteria(f, c));

  it("no criteria or {} match everything; keys AND, values OR", () => {
    expect(matching({})).toHaveLength(3);
    expect(matchesFilterCriteria(high, undefined)).toBe(true);
    expect(matching({ severity: [eq("HIGH"), eq("CRITICAL")] })).toEqual([high, crit]);
    expect(
      matching({ severity: [eq("HIGH"), eq("CRITICAL")], ecrImageRepositoryName: [prefix("team/d")] }),
    ).toEqual([crit]);
  });

  it("NOT_EQUALS filters within a key must all hold, beside the ORed positives", () => {
    expect(matching({ ecrImageRepositoryName: [ne("team/app"), ne("team/db")] })).toEqual([low]);
    expect(matching({ ecrImageRepositoryName: [prefix("team/"), ne("team/db")] })).toEqual([high]);
  });

  it("multi-valued fields: EQUALS any value; NOT_EQUALS no value; absent values fail EQUALS", () => {
    expect(matching({ ecrImageTags: [eq("latest")] })).toEqual([high]);
    expect(matching({ ecrImageTags: [ne("latest")] })).toEqual([crit, low]);
    expect(matching({ vendorSeverity: [eq("high")] })).toEqual([]);
    expect(matching({ vendorSeverity: [ne("high")] })).toHaveLength(3);
  });

  it("date and number ranges, inclusive, open-ended, ORed", () => {
    const t = high.lastObservedAt;
    expect(matchesFilterCriteria(high, { lastObservedAt: [{ startInclusive: t, endInclusive: t }] })).toBe(
      true,
    );
    expect(matchesFilterCriteria(high, { lastObservedAt: [{ startInclusive: t + 0.001 }] })).toBe(false);
    expect(
      matchesFilterCriteria(high, { lastObservedAt: [{ endInclusive: t - 1 }, { startInclusive: t }] }),
    ).toBe(true);
    expect(matchesFilterCriteria(high, { inspectorScore: [{ lowerInclusive: 7.5 }] })).toBe(true);
    expect(matchesFilterCriteria(high, { inspectorScore: [{ upperInclusive: 7.4 }] })).toBe(false);
    // No EPSS score: a range never matches.
    expect(matchesFilterCriteria(high, { epssScore: [{}] })).toBe(false);
    expect(
      matchesFilterCriteria(F({ epss: { score: 0.5, percentile: 0.9 } }), {
        epssScore: [{ lowerInclusive: 0.5 }],
      }),
    ).toBe(true);
    expect(matchesFilterCriteria(high, { ecrImagePushedAt: [{ startInclusive: 1_700_000_000 }] })).toBe(true);
  });

  it("resource tags: key and value, or key alone", () => {
    const tagged = F({ resourceTags: { team: "a", env: "" } });
    expect(
      matchesFilterCriteria(tagged, { resourceTags: [{ comparison: "EQUALS", key: "team", value: "a" }] }),
    ).toBe(true);
    expect(
      matchesFilterCriteria(tagged, { resourceTags: [{ comparison: "EQUALS", key: "team", value: "b" }] }),
    ).toBe(false);
    expect(matchesFilterCriteria(tagged, { resourceTags: [{ comparison: "EQUALS", key: "env" }] })).toBe(
      true,
    );
    expect(
      matchesFilterCriteria(tagged, { resourceTags: [{ comparison: "EQUALS", key: "env", value: "" }] }),
    ).toBe(true);
    expect(matchesFilterCriteria(high, { resourceTags: [{ comparison: "EQUALS", key: "team" }] })).toBe(
      false,
    );
  });

  it("vulnerable packages: all members of one filter on one package; negative filters exclude", () => {
    expect(
      matchesFilterCriteria(high, { vulnerablePackages: [{ name: eq("openssl"), version: eq("3.0.11") }] }),
    ).toBe(true);
    expect(
      matchesFilterCriteria(high, { vulnerablePackages: [{ name: eq("openssl"), version: eq("3.0.12") }] }),
    ).toBe(false);
    expect(
      matchesFilterCriteria(high, {
        vulnerablePackages: [{ name: eq("zlib") }, { release: prefix("1~deb12") }],
      }),
    ).toBe(true);
    expect(
      matchesFilterCriteria(high, {
        vulnerablePackages: [{ epoch: { lowerInclusive: 0, upperInclusive: 0 } }],
      }),
    ).toBe(true);
    expect(matchesFilterCriteria(high, { vulnerablePackages: [{ architecture: eq("AMD64") }] })).toBe(true);
    // Negative: neither openssl nor zlib.
    expect(
      matchesFilterCriteria(high, { vulnerablePackages: [{ name: ne("zlib") }, { name: ne("openssl") }] }),
    ).toBe(false);
    expect(
      matchesFilterCriteria(high, { vulnerablePackages: [{ name: ne("zlib") }, { name: ne("curl") }] }),
    ).toBe(true);
    // Absent member: EQUALS fails, NOT_EQUALS holds.
    expect(matchesFilterCriteria(high, { vulnerablePackages: [{ filePath: eq("x") }] })).toBe(false);
    expect(matchesFilterCriteria(high, { vulnerablePackages: [{ sourceLambdaLayerArn: ne("x") }] })).toBe(
      true,
    );
  });

  it("keys of other resource kinds match nothing, even NOT_EQUALS", () => {
    for (const c of [
      { lambdaFunctionName: [ne("f")] },
      { ec2InstanceImageId: [eq("ami-1")] },
      { codeVulnerabilityFilePath: [prefix("/")] },
      { networkProtocol: [ne("TCP")] },
      { portRange: [{ beginInclusive: 0, endInclusive: 65535 }] },
      { lambdaFunctionLastModifiedAt: [{}] },
      { cloudImageInUseCount: [{}] },
    ] as FilterCriteria[]) {
      expect(criteriaAst(c)[0]!.kind).toBe("inapplicable");
      expect(matching(c)).toEqual([]);
    }
  });

  it("the AST lists one ANDed criterion per key set", () => {
    expect(
      criteriaAst({
        severity: [eq("HIGH")],
        firstObservedAt: [{}],
        epssScore: [{}],
        resourceTags: [{ comparison: "EQUALS", key: "k" }],
        vulnerablePackages: [{}],
      }).map((c) => `${c.kind}:${c.key}`),
    ).toEqual([
      "string:severity",
      "date:firstObservedAt",
      "number:epssScore",
      "map:resourceTags",
      "package:vulnerablePackages",
    ]);
  });
});

// --- properties ---------------------------------------------------------------------------

const word = fc.constantFrom("a", "ab", "b", "team/app", "team/db", "HIGH", "CRITICAL", "openssl", "1.0");
const stringFilterArb = fc.record({
  comparison: fc.constantFrom("EQUALS" as const, "PREFIX" as const, "NOT_EQUALS" as const),
  value: word,
});
const recordArb: fc.Arbitrary<FindingRecord> = fc
  .record({
    repositoryName: fc.constantFrom("team/app", "team/db", "other/x"),
    reportedSeverity: fc.constantFrom(
      "CRITICAL",
      "HIGH",
      "MEDIUM",
      "LOW",
      "INFORMATIONAL",
      "UNTRIAGED" as const,
    ),
    status: fc.constantFrom("ACTIVE", "SUPPRESSED", "CLOSED" as const),
    imageTags: fc.array(word, { maxLength: 3 }),
    firstObservedAt: fc.integer({ min: 1_600_000_000, max: 1_600_000_010 }).map((s) => s * 1000),
    lastObservedAt: fc.integer({ min: 1_600_000_000, max: 1_600_000_010 }).map((s) => s * 1000),
    pushedAt: fc.option(
      fc.integer({ min: 0, max: 3 }).map((s) => s * 1000),
      { nil: undefined },
    ),
    vendorSeverity: fc.option(word, { nil: undefined }),
    epss: fc.option(
      fc.double({ min: 0, max: 1, noNaN: true }).map((score) => ({ score, percentile: 0.5 })),
      { nil: undefined },
    ),
    hex: fc.stringMatching(/^[0-9a-f]{32}$/),
  })
  .map(({ hex, ...o }) =>
    findingRecord({ ...o, findingArn: `arn:aws:inspector2:us-east-1:123456789012:finding/${hex}` }),
  );
const findingArb = recordArb.map((r) => toInspectorFinding(r, R));
const sortArb: fc.Arbitrary<SortCriteria> = fc.record({
  field: fc.constantFrom(...SORT_FIELDS),
  sortOrder: fc.constantFrom("ASC" as const, "DESC" as const),
});

describe("properties", () => {
  it("a string key's filters: NOT_EQUALS x is the negation of EQUALS x on a single-valued field", () => {
    fc.assert(
      fc.property(findingArb, word, (f, v) => {
        expect(matchesFilterCriteria(f, { ecrImageRepositoryName: [ne(v)] })).toBe(
          !matchesFilterCriteria(f, { ecrImageRepositoryName: [eq(v)] }),
        );
      }),
    );
  });

  it("keys AND: criteria with two keys match exactly where each alone matches", () => {
    fc.assert(
      fc.property(
        findingArb,
        fc.array(stringFilterArb, { minLength: 1, maxLength: 4 }),
        fc.array(stringFilterArb, { minLength: 1, maxLength: 4 }),
        (f, a, b) => {
          const both = matchesFilterCriteria(f, { severity: a, ecrImageTags: b });
          expect(both).toBe(
            matchesFilterCriteria(f, { severity: a }) && matchesFilterCriteria(f, { ecrImageTags: b }),
          );
        },
      ),
    );
  });

  it("matchesStringFilters: positives OR, negatives AND", () => {
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 3 }),
        fc.array(stringFilterArb, { minLength: 1, maxLength: 5 }),
        (values, fs) => {
          const pos = fs.filter((x) => x.comparison !== "NOT_EQUALS");
          const neg = fs.filter((x) => x.comparison === "NOT_EQUALS");
          const expected =
            (pos.length === 0 ||
              pos.some((p) =>
                values.some((v) => (p.comparison === "EQUALS" ? v === p.value : v.startsWith(p.value))),
              )) &&
            neg.every((n) => !values.includes(n.value));
          expect(matchesStringFilters(values, fs)).toBe(expected);
        },
      ),
    );
  });

  it("compareFindings is a total order for every sort field, tied only by the same ARN", () => {
    fc.assert(
      fc.property(findingArb, findingArb, findingArb, sortArb, (a, b, c, s) => {
        const ab = compareFindings(a, b, s);
        expect(Math.sign(ab)).toBe(-Math.sign(compareFindings(b, a, s)));
        if (ab === 0) expect(a.findingArn).toBe(b.findingArn);
        if (ab <= 0 && compareFindings(b, c, s) <= 0) expect(compareFindings(a, c, s)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it("keyset pages (after the last sort key) walk every finding once, in order", () => {
    fc.assert(
      fc.property(
        fc.array(findingArb, { maxLength: 20 }),
        sortArb,
        fc.integer({ min: 1, max: 5 }),
        (fs, s, n) => {
          const unique = [...new Map(fs.map((f) => [f.findingArn, f])).values()];
          const sorted = [...unique].sort((a, b) => compareFindings(a, b, s));
          const walked: InspectorFinding[] = [];
          let after: ReturnType<typeof sortKeyOf> | undefined;
          for (;;) {
            const rest = sorted.filter(
              (f) => after === undefined || compareSortKeys(sortKeyOf(f, s), after, s) > 0,
            );
            const page = rest.slice(0, n);
            walked.push(...page);
            if (rest.length <= n) break;
            after = sortKeyOf(page.at(-1)!, s);
          }
          expect(walked.map((f) => f.findingArn)).toEqual(sorted.map((f) => f.findingArn));
        },
      ),
    );
  });

  it("SEVERITY sorts by rank; absent values sort last in both directions; default is newest first", () => {
    const sev = (s: FindingRecord["reportedSeverity"]) => F({ reportedSeverity: s });
    const order = [sev("LOW"), sev("CRITICAL"), sev("UNTRIAGED"), sev("HIGH")]
      .sort((a, b) => compareFindings(a, b, { field: "SEVERITY", sortOrder: "DESC" }))
      .map((f) => f.severity);
    expect(order).toEqual(["CRITICAL", "HIGH", "LOW", "UNTRIAGED"]);
    const withEpss = F({ epss: { score: 0.1, percentile: 0 } });
    const without = F();
    for (const sortOrder of ["ASC", "DESC"] as const)
      expect(compareFindings(withEpss, without, { field: "EPSS_SCORE", sortOrder })).toBeLessThan(0);
    const older = F({ firstObservedAt: 1000 });
    const newer = F({ firstObservedAt: 2000 });
    expect(compareFindings(newer, older)).toBeLessThan(0);
    expect(DEFAULT_SORT).toEqual({ field: "FIRST_OBSERVED_AT", sortOrder: "DESC" });
  });
});
