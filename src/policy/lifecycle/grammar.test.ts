import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileTagPattern, LifecyclePolicyError, parseLifecyclePolicy } from "./grammar.js";

/** A policy text from rules (padded with a description when short: ECR wants ≥ 100 characters). */
function policyText(rules: unknown[]): string {
  return JSON.stringify({ rules }).padEnd(100, " ");
}

const rule = (over: Record<string, unknown> = {}, selection: Record<string, unknown> = {}) => ({
  rulePriority: 1,
  description: "Expire untagged images older than 14 days",
  selection: {
    tagStatus: "untagged",
    countType: "sinceImagePushed",
    countUnit: "days",
    countNumber: 14,
    ...selection,
  },
  action: { type: "expire" },
  ...over,
});

function errorOf(text: string): LifecyclePolicyError {
  try {
    parseLifecyclePolicy(text);
  } catch (e) {
    expect(e).toBeInstanceOf(LifecyclePolicyError);
    return e as LifecyclePolicyError;
  }
  throw new Error("expected the policy to be refused");
}

describe("parseLifecyclePolicy", () => {
  it("accepts the ECR user guide's examples", () => {
    const p = parseLifecyclePolicy(
      policyText([
        rule({ rulePriority: 1 }, { tagStatus: "tagged", tagPatternList: ["prod*"] }),
        rule({ rulePriority: 2 }, { countType: "imageCountMoreThan", countUnit: undefined, countNumber: 1 }),
        rule(
          { rulePriority: 3 },
          { tagStatus: "tagged", tagPrefixList: ["alpha", "beta"], countType: "sinceImagePulled" },
        ),
        rule(
          { rulePriority: 10 },
          { tagStatus: "any", countType: "imageCountMoreThan", countUnit: undefined, countNumber: 100 },
        ),
      ]),
    );
    expect(p.rules.map((r) => r.rulePriority)).toEqual([1, 2, 3, 10]);
    expect(p.rules[0]!.selection).toEqual({
      tagStatus: "tagged",
      tagPatternList: ["prod*"],
      countType: "sinceImagePushed",
      countUnit: "days",
      countNumber: 14,
    });
    expect(p.rules[1]!.selection.countUnit).toBeUndefined();
  });

  it("sorts rules by priority (gaps allowed) and keeps storageClass standard as the default", () => {
    const p = parseLifecyclePolicy(
      policyText([
        rule({ rulePriority: 20 }, { tagStatus: "tagged", tagPrefixList: ["b"], storageClass: "standard" }),
        rule({ rulePriority: 5 }, { tagStatus: "tagged", tagPrefixList: ["a"] }),
      ]),
    );
    expect(p.rules.map((r) => r.rulePriority)).toEqual([5, 20]);
  });

  const cases: [string, string, RegExp][] = [
    ["short text", '{"rules":[]}', /between 100 and 30720/],
    ["not JSON", "x".repeat(120), /not valid JSON/],
    ["array at the top", JSON.stringify(new Array(60).fill(1)), /JSON object/],
    ["no rules", JSON.stringify({ rules: [], pad: "x".repeat(100) }), /unknown field "pad"/],
    ["empty rules", JSON.stringify({ rules: [] }) + " ".repeat(100), /non-empty array/],
    [
      "uppercase tagStatus",
      policyText([rule({}, { tagStatus: "UNTAGGED" })]),
      /rules\[0\] \(rulePriority 1\): selection.tagStatus: .*lowercase/,
    ],
    ["priority 0", policyText([rule({ rulePriority: 0 })]), /rules\[0\]: rulePriority: must be an integer/],
    ["priority fraction", policyText([rule({ rulePriority: 1.5 })]), /rulePriority: must be an integer/],
    ["priority string", policyText([rule({ rulePriority: "1" })]), /rulePriority: must be an integer/],
    [
      "duplicate priority",
      policyText([
        rule({ rulePriority: 3 }, { tagStatus: "tagged", tagPrefixList: ["a"] }),
        rule({ rulePriority: 3 }, { tagStatus: "tagged", tagPrefixList: ["b"] }),
      ]),
      /rules\[1\] \(rulePriority 3\): rulePriority 3 is also the priority of rules\[0\]/,
    ],
    [
      "any not last",
      policyText([
        rule({ rulePriority: 1 }, { tagStatus: "any" }),
        rule({ rulePriority: 2 }, { tagStatus: "tagged", tagPrefixList: ["b"] }),
      ]),
      /rules\[0\] \(rulePriority 1\): rulePriority: a rule with tagStatus "any" must have the highest/,
    ],
    [
      "tagged without lists",
      policyText([rule({}, { tagStatus: "tagged" })]),
      /selection.tagPrefixList: a rule with tagStatus "tagged" needs/,
    ],
    [
      "untagged with prefixes",
      policyText([rule({}, { tagPrefixList: ["a"] })]),
      /selection.tagPrefixList: is only allowed with tagStatus "tagged"/,
    ],
    [
      "any with patterns",
      policyText([rule({}, { tagStatus: "any", tagPatternList: ["a*"] })]),
      /selection.tagPatternList: is only allowed/,
    ],
    [
      "both lists",
      policyText([rule({}, { tagStatus: "tagged", tagPrefixList: ["a"], tagPatternList: ["b*"] })]),
      /cannot both/,
    ],
    [
      "empty prefix list",
      policyText([rule({}, { tagStatus: "tagged", tagPrefixList: [] })]),
      /selection.tagPrefixList: must not be empty/,
    ],
    [
      "empty prefix",
      policyText([rule({}, { tagStatus: "tagged", tagPrefixList: [""] })]),
      /selection.tagPrefixList\[0\]: must be a non-empty string/,
    ],
    [
      "bad prefix",
      policyText([rule({}, { tagStatus: "tagged", tagPrefixList: ["a b"] })]),
      /selection.tagPrefixList\[0\]: .* is not a tag prefix/,
    ],
    [
      "five wildcards",
      policyText([rule({}, { tagStatus: "tagged", tagPatternList: ["*a", "test*1*2*3*4*5"] })]),
      /selection.tagPatternList\[1\]: .* has 5 wildcards; at most 4/,
    ],
    [
      "countUnit with count",
      policyText([rule({}, { countType: "imageCountMoreThan" })]),
      /selection.countUnit: is only allowed with sinceImagePushed/,
    ],
    [
      "no countUnit with age",
      policyText([rule({}, { countUnit: undefined })]),
      /selection.countUnit: is required with sinceImagePushed/,
    ],
    ["hours", policyText([rule({}, { countUnit: "hours" })]), /selection.countUnit: must be "days"/],
    [
      "countNumber 0",
      policyText([rule({}, { countNumber: 0 })]),
      /selection.countNumber: must be an integer from 1/,
    ],
    [
      "countNumber missing",
      policyText([rule({}, { countNumber: undefined })]),
      /selection.countNumber: is required/,
    ],
    [
      "countType bad",
      policyText([rule({}, { countType: "sinceImageBuilt" })]),
      /selection.countType: must be/,
    ],
    [
      "transitioned",
      policyText([rule({}, { countType: "sinceImageTransitioned" })]),
      /selection.countType: sinceImageTransitioned needs the archive/,
    ],
    [
      "archive class",
      policyText([rule({}, { storageClass: "archive" })]),
      /selection.storageClass: Drydock has no archive storage class/,
    ],
    [
      "transition",
      policyText([rule({ action: { type: "transition", targetStorageClass: "archive" } })]),
      /action.type: "transition" moves images to the archive/,
    ],
    ["EXPIRE", policyText([rule({ action: { type: "EXPIRE" } })]), /action.type: must be "expire"/],
    [
      "no action",
      policyText([rule({ action: undefined })]),
      /rules\[0\] \(rulePriority 1\): action: is required/,
    ],
    [
      "unknown rule field",
      policyText([rule({ priority: 2 })]),
      /rules\[0\] \(rulePriority 1\): priority: unknown field/,
    ],
    [
      "unknown selection field",
      policyText([rule({}, { tagList: ["a"] })]),
      /selection.tagList: unknown field/,
    ],
    [
      "two untagged rules",
      policyText([rule({ rulePriority: 1 }), rule({ rulePriority: 2 }, { countNumber: 30 })]),
      /rules\[1\] \(rulePriority 2\): selection.tagStatus: only one rule may select untagged/,
    ],
    [
      "prefix in two rules",
      policyText([
        rule({ rulePriority: 1 }, { tagStatus: "tagged", tagPrefixList: ["prod", "x"] }),
        rule({ rulePriority: 2 }, { tagStatus: "tagged", tagPrefixList: ["prod"] }),
      ]),
      /rules\[1\] \(rulePriority 2\): selection.tagPrefixList: the prefix "prod" is also in rules\[0\]/,
    ],
    ["description number", policyText([rule({ description: 5 })]), /description: must be a string/],
    ["rule not object", policyText([rule(), "x".repeat(90)]), /rules\[1\] must be an object/],
  ];
  it.each(cases)("refuses %s naming the rule and field", (_name, text, message) => {
    const e = errorOf(text);
    expect(e.code).toBe("InvalidParameterException");
    expect(e.message).toMatch(
      /^Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: /,
    );
    expect(e.message).toMatch(message);
  });

  it("refuses a text over 30720 characters", () => {
    expect(errorOf(policyText([rule({ description: "d".repeat(31_000) })])).message).toMatch(
      /between 100 and 30720/,
    );
  });

  it("any string ends in a policy or a LifecyclePolicyError", () => {
    const check = (s: string) => {
      try {
        parseLifecyclePolicy(s);
      } catch (e) {
        expect(e).toBeInstanceOf(LifecyclePolicyError);
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 400 }), check), { numRuns: 300 });
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (j) => check(j.padEnd(100, " "))),
      { numRuns: 300 },
    );
  });

  it("any mutation of a valid policy ends in a policy or a LifecyclePolicyError", () => {
    const value = fc.oneof(
      fc.constantFrom(
        "tagged",
        "untagged",
        "any",
        "expire",
        "days",
        "imageCountMoreThan",
        "sinceImagePulled",
        "archive",
      ),
      fc.integer({ min: -2, max: 5 }),
      fc.array(fc.stringMatching(/^[a-z*]{0,8}$/), { maxLength: 3 }),
      fc.constant(null),
      fc.constant(undefined),
      fc.double(),
    );
    const key = fc.constantFrom(
      "tagStatus",
      "tagPrefixList",
      "tagPatternList",
      "countType",
      "countUnit",
      "countNumber",
      "storageClass",
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ priority: fc.integer({ min: 0, max: 4 }), key, value }), {
          minLength: 1,
          maxLength: 4,
        }),
        (muts) => {
          const rules = muts.map((m) => rule({ rulePriority: m.priority }, { [m.key]: m.value }));
          try {
            const p = parseLifecyclePolicy(policyText(rules));
            expect(p.rules.length).toBe(rules.length);
          } catch (e) {
            expect(e).toBeInstanceOf(LifecyclePolicyError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("parses the longest pathological policy quickly", () => {
    const patterns = Array.from({ length: 1500 }, (_, i) => `*a*${i}*b*`);
    const text = policyText([rule({}, { tagStatus: "tagged", tagPatternList: patterns })]);
    expect(text.length).toBeLessThanOrEqual(30_720);
    const t0 = performance.now();
    parseLifecyclePolicy(text);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe("compileTagPattern", () => {
  const regexOf = (p: string) =>
    new RegExp(
      "^" +
        p
          .split("*")
          .map((s) => s.replace(/[.\\+?^${}()|[\]-]/g, "\\$&"))
          .join(".*") +
        "$",
      "s",
    );

  it("matches as ECR's examples say", () => {
    const prod = compileTagPattern("prod*");
    expect(["prod", "prod1", "prod-2"].every(prod)).toBe(true);
    expect(prod("preprod")).toBe(false);
    const t = compileTagPattern("*test*1*2*3");
    expect(t("mytest-x1y2z3")).toBe(true);
    expect(t("test123")).toBe(true);
    expect(t("test1234")).toBe(false);
    expect(compileTagPattern("exact")("exact")).toBe(true);
    expect(compileTagPattern("exact")("exactly")).toBe(false);
    expect(compileTagPattern("a*a")("a")).toBe(false);
    expect(compileTagPattern("a*a")("aa")).toBe(true);
    expect(compileTagPattern("*")("")).toBe(true);
  });

  it("agrees with the regular expression of the glob", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ab*.]{0,8}$/), fc.stringMatching(/^[ab.]{0,10}$/), (p, tag) => {
        expect(compileTagPattern(p)(tag)).toBe(regexOf(p).test(tag));
      }),
      { numRuns: 3000 },
    );
  });

  it("is linear on a hostile pattern", () => {
    const m = compileTagPattern("*a*a*a*a*b");
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) m("a".repeat(128));
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
