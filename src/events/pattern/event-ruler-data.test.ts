import { describe, expect, it } from "vitest";
import { InvalidEventPatternError } from "./errors.js";
import { matches } from "./match.js";
import { parseEventPattern } from "./parse.js";
import { compileRules } from "./rule-index.js";
import { missingPatternVectors, readVector } from "./testing.js";

/**
 * aws/event-ruler's own test data (../shared/testdata/eventbridge-patterns/event-ruler), with
 * the expected results PROVENANCE.md restates from event-ruler's tests.
 */

const missing = missingPatternVectors();
const data = (name: string) => readVector(`event-ruler/data/${name}`);
const json = (name: string) => JSON.parse(data(name)) as unknown;

function reason(text: string): string | null {
  try {
    parseEventPattern(text);
    return null;
  } catch (e) {
    if (e instanceof InvalidEventPatternError) return e.reason;
    throw e;
  }
}

describe.skipIf(missing !== null)(`event-ruler data${missing ? ` (${missing})` : ""}`, () => {
  const rules = () =>
    [1, 2, 3].map((n) => ({ id: `rule${n}`, pattern: parseEventPattern(data(`arrayRule${n}.json`)) }));
  const expectedConsistent: Record<string, string[]> = {
    arrayEvent1: ["rule1", "rule2"],
    arrayEvent2: [],
    // metricName and namespace come from different elements of the same array
    arrayEvent3: [],
    arrayEvent4: ["rule3"],
  };

  it("arrays, array-consistent (our choice, event-ruler's rulesForJSONEvent): GenericMachineTest.nestedArraysTest", () => {
    const index = compileRules(rules());
    for (const [event, expected] of Object.entries(expectedConsistent)) {
      const e = json(`${event}.json`);
      expect(
        rules()
          .filter((r) => matches(r.pattern, e))
          .map((r) => r.id),
        event,
      ).toEqual(expected);
      expect(index.matchingRules(e), event).toEqual(expected);
    }
  });

  it("arrays, legacy matcher: event3 matches rule3", () => {
    const expected = { ...expectedConsistent, arrayEvent3: ["rule3"] };
    for (const [event, ids] of Object.entries(expected)) {
      const e = json(`${event}.json`);
      expect(
        rules()
          .filter((r) => matches(r.pattern, e, { arrayConsistent: false }))
          .map((r) => r.id),
        event,
      ).toEqual(ids);
    }
  });

  it("arrayRule4 (both names, both namespaces) matches event3 and event4 either way", () => {
    const rule4 = parseEventPattern(data("arrayRule4.json"));
    for (const ev of ["arrayEvent3", "arrayEvent4"]) {
      expect(matches(rule4, json(`${ev}.json`))).toBe(true);
      expect(matches(rule4, json(`${ev}.json`), { arrayConsistent: false })).toBe(true);
    }
  });

  it("orRelationshipRules.json: five valid $or rules expanding to 2, 4, 3, 4 and 2 branches", () => {
    const rules = json("orRelationshipRules.json") as unknown[];
    expect(rules.map((r) => parseEventPattern(JSON.stringify(r)).branches.length)).toEqual([2, 4, 3, 4, 2]);
  });

  it("the $or rules mean what their branches say", () => {
    const [r1, r2, , r4] = (json("orRelationshipRules.json") as unknown[]).map((r) => JSON.stringify(r));
    expect(matches(r1!, { metricName: "ReadLatency" })).toBe(true);
    expect(matches(r1!, { namespace: "AWS/ES" })).toBe(true);
    expect(matches(r1!, { metricName: "Other", namespace: "Other" })).toBe(false);
    // (metricName || namespace) && (detail.source || detail.detail-type)
    expect(matches(r2!, { namespace: "AWS/EC2", detail: { source: "aws.cloudwatch" } })).toBe(true);
    expect(matches(r2!, { namespace: "AWS/EC2", detail: { source: "aws.ec2" } })).toBe(false);
    // nested $or inside the second branch
    const base = { source: "aws.cloudwatch", metricType: "MetricType", namespace: "AWS/ES" };
    expect(matches(r4!, { ...base, spaceId: 1000 })).toBe(true);
    expect(matches(r4!, { ...base, spaceId: 1001 })).toBe(false);
    expect(matches(r4!, { source: "aws.cloudwatch", scope: "Service" })).toBe(true);
  });

  it("wrongOrRelationshipRules.json: both refused", () => {
    const rules = (json("wrongOrRelationshipRules.json") as unknown[]).map((r) => JSON.stringify(r));
    expect(rules.map(reason)).toEqual([
      "There must have at least 2 Objects in $or relationship.",
      "Only JSON object is allowed in array of $or relationship.",
    ]);
  });

  it("normalRulesWithOrWording.json: refused by the $or-aware compiler EventBridge uses (event-ruler's JsonRuleCompiler)", () => {
    // The legacy RuleCompiler took "$or" as a field name here; JsonRuleCompiler, the one with
    // $or, rejects all four (JsonRuleCompilerTest.testOrFieldCanKeepWorkingInLegacyRuleCompiler).
    const rules = (json("normalRulesWithOrWording.json") as unknown[]).map((r) => JSON.stringify(r));
    expect(rules.map(reason)).toEqual([
      "cidr is Ruler reserved fieldName which cannot be used inside $or.",
      "It must be an Array followed with $or.",
      "numeric is Ruler reserved fieldName which cannot be used inside $or.",
      "numeric is Ruler reserved fieldName which cannot be used inside $or.",
    ]);
  });

  it("bigEvent.json matches bigEventRule.json (BigEventTest), through both matchers", () => {
    const rule = parseEventPattern(data("bigEventRule.json"));
    const event = json("bigEvent.json");
    expect(matches(rule, event)).toBe(true);
    expect(compileRules([{ id: "big", pattern: rule }]).matchingRules(event)).toEqual(["big"]);
  });

  it("correctness-cases.json: both matchers agree on all 51, and the unambiguous names hold", () => {
    const cases = JSON.parse(readVector("event-ruler/resources/correctness-cases.json")) as {
      name: string;
      rule: unknown;
      event: unknown;
    }[];
    expect(cases).toHaveLength(51);
    const patterns = cases.map((c, i) => ({ id: i, pattern: parseEventPattern(JSON.stringify(c.rule)) }));
    const index = compileRules(patterns);
    for (const c of cases) {
      const single = patterns.filter((p) => matches(p.pattern, c.event)).map((p) => p.id);
      expect(index.matchingRules(c.event), c.name).toEqual(single);
    }
    // The file carries no expected results; these names state theirs (our reading).
    const verdict = (name: string) => {
      const i = cases.findIndex((c) => c.name === name);
      return matches(patterns[i]!.pattern, cases[i]!.event);
    };
    expect(verdict("objarray: same element")).toBe(true);
    expect(verdict("objarray: split")).toBe(false);
    expect(verdict("objarray: 3 elem, last valid")).toBe(true);
    expect(verdict("objarray: exact split")).toBe(false);
    expect(verdict("nested: inner split")).toBe(false);
    expect(verdict("nested: outer same")).toBe(true);
    expect(verdict("exists-false: absent")).toBe(true);
    expect(verdict("exists-false: present")).toBe(false);
    expect(verdict("empty array")).toBe(false);
    expect(verdict("primarray: empty prim array")).toBe(false);
    expect(verdict("N emails, only last element has name — dedup loses the only valid match")).toBe(true);
    expect(verdict("mixed: array+scalar fail")).toBe(false);
  });
});
