import { describe, expect, it } from "vitest";
import { InvalidEventPatternError } from "./errors.js";
import { matches } from "./match.js";
import { parseEventPattern } from "./parse.js";
import { compileRules } from "./rule-index.js";
import {
  invalidJsonCases,
  missingPatternVectors,
  readVector,
  recordedRawMessage,
  templateCases,
  type TemplateCase,
} from "./testing.js";

/**
 * The AWS-validated cases of ../shared/testdata/eventbridge-patterns (localstack's templates and
 * snapshots, recorded against real EventBridge), one vitest case each.
 */

const missing = missingPatternVectors();

function outcome(c: TemplateCase): { result: boolean } | { error: string } {
  try {
    return { result: matches(parseEventPattern(c.patternText), c.event) };
  } catch (e) {
    if (e instanceof InvalidEventPatternError) return { error: e.message };
    throw e;
  }
}

describe.skipIf(missing !== null)(`AWS-validated template cases${missing ? ` (${missing})` : ""}`, () => {
  const cases = missing ? [] : templateCases();

  it("has the 155 cases PROVENANCE.md announces (66 match, 51 _NEG, 38 _EXC)", () => {
    expect(cases).toHaveLength(155);
    expect(cases.filter((c) => "result" in c.expected && c.expected.result)).toHaveLength(66);
    expect(cases.filter((c) => "result" in c.expected && !c.expected.result)).toHaveLength(51);
    expect(cases.filter((c) => "error" in c.expected)).toHaveLength(38);
  });

  for (const c of cases) {
    it(c.name, () => {
      expect(outcome(c)).toEqual(c.expected);
    });
  }

  it("the compiled rule index agrees with the single matcher on every case's event, all valid patterns at once", () => {
    const valid = cases.filter((c) => !("error" in c.expected));
    const patterns = valid.map((c) => ({ id: c.name, pattern: parseEventPattern(c.patternText) }));
    const index = compileRules(patterns);
    for (const c of cases) {
      const expected = patterns.filter((p) => matches(p.pattern, c.event)).map((p) => p.id);
      expect(index.matchingRules(c.event), c.name).toEqual(expected);
    }
    // and each case's own verdict through the index
    for (const c of valid) {
      expect(index.matchingRules(c.event).includes(c.name), c.name).toBe(
        (c.expected as { result: boolean }).result,
      );
    }
  });

  // AWS's full text, with Jackson's location line(s), where the snapshot kept it unaltered
  // (localstack replaced the ARN parts of some patterns with placeholders).
  const raw = cases.filter((c) => "error" in c.expected && !recordedRawMessage(c.name)?.includes("<"));
  for (const c of raw) {
    it(`${c.name}: full message with location`, () => {
      let detail: string | undefined;
      try {
        parseEventPattern(c.patternText);
      } catch (e) {
        if (e instanceof InvalidEventPatternError) detail = e.detail;
      }
      expect(detail).toBe(recordedRawMessage(c.name));
    });
  }
});

describe.skipIf(missing !== null)("AWS-validated extra cases", () => {
  it("duplicate key: the last 'location' wins (complex_multi_key_event_pattern.json sent as raw text)", () => {
    const text = readVector("localstack/event_pattern_templates/complex_multi_key_event_pattern.json");
    const event = JSON.parse(readVector("localstack/event_pattern_templates/complex_multi_key_event.json"));
    expect(matches(parseEventPattern(text), event)).toBe(true);
    // Had the first one won (prefix "us-"), eu-central-1 would not match.
    expect(matches(parseEventPattern(text), { ...event, detail: { location: "us-east" } })).toBe(false);
  });

  it("invalid JSON patterns fail with Jackson's words, as AWS answered", () => {
    const cases = invalidJsonCases();
    expect(cases.length).toBe(4);
    for (const c of cases) {
      let message: string | undefined;
      try {
        parseEventPattern(c.pattern);
      } catch (e) {
        if (e instanceof InvalidEventPatternError) message = e.detail;
      }
      expect(message, c.pattern).toBe(c.message);
    }
  });

  it("large_complex_payload.json: a plain pattern and a dotted key reaching into nested objects", () => {
    const event = JSON.parse(readVector("localstack/large_complex_payload.json"));
    expect(matches('{"detail-type":["cmd.documents.generate"]}', event)).toBe(true);
    expect(
      matches(
        '{"detail":{"payload.nested.another-level.deep":{"inside-list":[{"prefix":"q-test"}]}}}',
        event,
      ),
    ).toBe(true);
  });
});
