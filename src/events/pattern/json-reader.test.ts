import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonReadError, JsonReader, type JsonToken } from "./json-reader.js";

function tokens(text: string): string[] {
  const r = new JsonReader(text);
  const out: string[] = [];
  for (let t = r.next(); t; t = r.next()) {
    out.push(
      t.kind === "name" || t.kind === "string"
        ? `${t.kind}:${r.tokenText()}`
        : t.kind === "int" || t.kind === "float"
          ? `${t.kind}:${t.text}`
          : t.kind,
    );
  }
  return out;
}

function error(text: string): string {
  const r = new JsonReader(text);
  try {
    for (let t = r.next(); t; t = r.next()) if (t.kind === "string") r.tokenText();
  } catch (e) {
    if (e instanceof JsonReadError) return `${e.reason} @${e.offset}`;
    throw e;
  }
  return "no error";
}

describe("JsonReader", () => {
  it("reads tokens, decoding strings, keeping duplicate keys and number text", () => {
    expect(tokens('{"a":[1,-2.5e3,"x\\u00e9\\n",true,false,null],"a":{}}')).toEqual([
      "startObject",
      "name:a",
      "startArray",
      "int:1",
      "float:-2.5e3",
      "string:xé\n",
      "true",
      "false",
      "null",
      "endArray",
      "name:a",
      "startObject",
      "endObject",
      "endObject",
    ]);
  });

  it("stands where Jackson stands: after a name it has seen the start of the value", () => {
    const r = new JsonReader('{"k": "value", "n": 12}');
    r.next();
    r.next(); // name k
    expect(r.position).toBe(7); // after the opening quote of "value"
    r.next(); // the string, not read yet
    expect(r.position).toBe(7);
    r.tokenText();
    expect(r.position).toBe(13);
    r.next(); // name n, and 12 already read
    expect(r.position).toBe(22);
  });

  it("finds a malformed string only when it is read or passed", () => {
    const r = new JsonReader('["a\\q", 1]');
    r.next();
    const s = r.next() as JsonToken;
    expect(s.kind).toBe("string");
    expect(() => r.tokenText()).toThrow(JsonReadError);
    const r2 = new JsonReader('["a\\q", 1]');
    r2.next();
    r2.next();
    expect(() => r2.next()).toThrow("Unrecognized character escape 'q' (code 113)");
  });

  const errors: [string, string][] = [
    [
      "this is not json",
      "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') @4",
    ],
    ["{'a': 1}", "Unexpected character (''' (code 39)): was expecting double-quote to start field name @1"],
    [
      '{"a" 1}',
      "Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value @5",
    ],
    [
      '{"a":1 "b":2}',
      "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries @7",
    ],
    ["[1 2]", "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries @3"],
    ['{"a":1,}', "Unexpected character ('}' (code 125)): was expecting double-quote to start field name @7"],
    [
      "[1,]",
      "Unexpected character (']' (code 93)): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false') @3",
    ],
    [
      "[truex]",
      "Unrecognized token 'truex': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') @6",
    ],
    [
      "[nul]",
      "Unrecognized token 'nul': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') @4",
    ],
    ["[01]", "Invalid numeric value: Leading zeroes not allowed @2"],
    [
      "[-x]",
      "Unexpected character ('x' (code 120)) in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value @2",
    ],
    [
      "[1.]",
      "Unexpected character (']' (code 93)) in numeric value: Decimal point not followed by a digit @3",
    ],
    [
      "[1e+]",
      "Unexpected character (']' (code 93)) in numeric value: Exponent indicator not followed by a digit @4",
    ],
    ["[NaN]", "Non-standard token 'NaN': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow @4"],
    [
      "['x']",
      "Unexpected character (''' (code 39)): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false') @1",
    ],
    [
      '["a\nb"]',
      "Illegal unquoted character ((CTRL-CHAR, code 10)): has to be escaped using backslash to be included in string value @3",
    ],
    [
      '["\\u12g4"]',
      "Unexpected character ('g' (code 103)): expected a hex-digit for character escape sequence @6",
    ],
    ['["abc', "Unexpected end-of-input: was expecting closing quote for a string value @5"],
    [
      '{"a":[1]',
      'Unexpected end-of-input: expected close marker for Object (start marker at [Source: (String)"{"a":[1]"; line: 1, column: 1]) @8',
    ],
    ["[1,", "Unexpected end-of-input within/between Array entries @3"],
    ['{"a"', "Unexpected end-of-input within/between Object entries @4"],
    [
      '{"a":1]',
      "Unexpected close marker ']': expected '}' (for Object starting at [Source: (String)\"{\"a\":1]\"; line: 1, column: 1]) @6",
    ],
    [
      "}",
      "Unexpected close marker '}': expected ']' (for root starting at [Source: (String)\"}\"; line: 1, column: 0]) @0",
    ],
    [
      "[/*c*/1]",
      "Unexpected character ('/' (code 47)): maybe a (non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser) @1",
    ],
    [
      "[\f1]",
      "Illegal character ((CTRL-CHAR, code 12)): only regular white space (\\r, \\n, \\t) is allowed between tokens @1",
    ],
  ];
  for (const [text, expected] of errors) {
    it(`${JSON.stringify(text)} → ${expected}`, () => expect(error(text)).toBe(expected));
  }

  it("refuses nesting deeper than 1000 and numbers longer than 1000 characters", () => {
    expect(error("[".repeat(1001))).toMatch(
      /^Document nesting depth \(1001\) exceeds the maximum allowed \(1000/,
    );
    expect(error(`[${"1".repeat(1001)}]`)).toMatch(
      /^Number value length \(1001\) exceeds the maximum allowed \(1000/,
    );
  });

  it("agrees with JSON.parse on which documents are valid (property)", () => {
    const readAll = (text: string): boolean => {
      const r = new JsonReader(text);
      try {
        let depth = 0;
        let t = r.next();
        if (!t) return false;
        for (;;) {
          if (t.kind === "string") r.tokenText();
          if (t.kind === "startArray" || t.kind === "startObject") depth++;
          if (t.kind === "endArray" || t.kind === "endObject") depth--;
          if (depth === 0) break;
          t = r.next();
          if (!t) return false;
        }
        // One top-level value is read (as EventBridge reads patterns); JSON.parse wants no more.
        return /^[ \t\r\n]*$/.test(r.text.slice(r.position));
      } catch (e) {
        if (e instanceof JsonReadError) return false;
        throw e;
      }
    };
    const valid = (text: string): boolean => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
        ),
        (text) => {
          // JSON.parse accepts a few characters as space that Jackson does not; compare where both define space alike.
          fc.pre(!/[\u2028\u2029\u00a0\ufeff]/.test(text));
          expect(readAll(text)).toBe(valid(text));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
