import { describe, expect, it } from "vitest";
import { InvalidEventPatternError } from "./errors.js";
import { matches } from "./match.js";
import { parseEventPattern } from "./parse.js";

/**
 * The parser beyond the AWS-recorded vectors (vectors.test.ts): texts that event-ruler's
 * JsonRuleCompiler (EventBridge's pattern compiler) produces for other mistakes, and the shapes it
 * builds. These texts come from event-ruler's source, not from a recorded AWS answer.
 */

function reason(text: string, maxLength?: number): string | null {
  try {
    parseEventPattern(text, { maxLength });
    return null;
  } catch (e) {
    if (e instanceof InvalidEventPatternError) return e.reason;
    throw e;
  }
}

describe("parseEventPattern: structure", () => {
  it("flattens nesting and dotted keys into one path, sorted", () => {
    const p = parseEventPattern('{"detail":{"b":["x"],"a.c":[1]},"source":["s"]}');
    expect(p.branches).toHaveLength(1);
    expect(p.branches[0]!.conditions.map((c) => c.path)).toEqual(["detail.a.c", "detail.b", "source"]);
  });

  it("keeps the last value of a path given twice, however it is spelled", () => {
    const p = parseEventPattern('{"a":{"b":["first"]},"a.b":["second"]}');
    expect(p.branches[0]!.conditions).toEqual([
      { path: "a.b", matchers: [{ kind: "string", value: "second" }] },
    ]);
  });

  it("an $or branch may override a path set before it (event-ruler's testWithRuleOverride)", () => {
    const text = '{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"condition1":["x"]}]}';
    expect(matches(text, { name: "a", condition1: "x" })).toBe(true);
    expect(matches(text, { name: "c" })).toBe(true);
    expect(matches(text, { name: "a" })).toBe(false);
  });

  it("fields after an $or apply to every branch", () => {
    const p = parseEventPattern('{"$or":[{"a":["1"]},{"b":["2"]}],"c":["3"]}');
    expect(p.branches.map((b) => b.conditions.map((c) => c.path))).toEqual([
      ["a", "c"],
      ["b", "c"],
    ]);
  });

  it("strings that read as IP addresses match the same address however written", () => {
    const p = '{"ip":["2001:db8::1"]}';
    expect(matches(p, { ip: "2001:0db8:0000:0000:0000:0000:0000:0001" })).toBe(true);
    expect(matches(p, { ip: "2001:db8::2" })).toBe(false);
    expect(matches('{"ip":[{"exactly":"10.0.0.1"}]}', { ip: "10.0.0.1" })).toBe(true);
  });

  it("reads nothing after the pattern's closing brace (event-ruler stops there)", () => {
    expect(reason('{"a":["b"]} trailing {')).toBeNull();
  });

  it("keeps the number's text and value", () => {
    const p = parseEventPattern('{"n":[3.0e2]}');
    expect(p.branches[0]!.conditions[0]!.matchers).toEqual([{ kind: "number", value: 300, text: "3.0e2" }]);
  });
});

describe("parseEventPattern: errors (event-ruler's texts)", () => {
  const cases: [string, string][] = [
    ["{}", "Empty objects are not allowed"],
    ['{"a":{}}', "Empty objects are not allowed"],
    ["[]", "Filter is not an object"],
    ["", "Filter is not an object"],
    ['"x"', "Filter is not an object"],
    ['{"a":[[1]]}', "Match value must be String, number, true, false, or null"],
    ['{"a":[{}]}', "Match expression name not found"],
    ['{"a":[{"prefix":"x","suffix":"y"}]}', "Only one key allowed in match expression"],
    ['{"a":[{"exactly":1}]}', "exact match pattern must be a string"],
    ['{"a":[{"exists":"yes"}]}', "exists match pattern must be either true or false."],
    ['{"a":[{"numeric":["=",1,2]}]}', "Too many elements in numeric expression"],
    ['{"a":[{"numeric":[">",1]}, {"numeric":[1]}]}', "Invalid member in numeric match: 1"],
    ['{"a":[{"numeric":["~",1]}]}', "Unrecognized numeric range operator: ~"],
    ['{"a":[{"numeric":["=","1"]}]}', "Value of equals must be numeric"],
    ['{"a":[{"numeric":[">",1,5]}]}', "Bad value in numeric range: 5"],
    ['{"a":[{"numeric":[">",1,"<",5,6]}]}', "Too many terms in numeric range expression"],
    ['{"a":[{"numeric":[">",5,"<",5]}]}', "Bottom must be less than top"],
    ['{"a":[{"numeric":[">=",5,"<=",1]}]}', "Bottom must be less than top"],
    ['{"a":[{"numeric":["<",1e400]}]}', "Cannot compare number : 1e400"],
    ['{"a":[{"numeric":["=",0.30000000000000001]}]}', "Cannot compare number : 0.30000000000000001"],
    ['{"a":[{"numeric":[">",1],"x":1}]}', "Too many elements in numeric expression"],
    [
      '{"a":[{"anything-but":[]}]}',
      "Inside anything but list, either all values are number or string, mixed type is not supported",
    ],
    [
      '{"a":[{"anything-but":["x",1]}]}',
      "Inside anything but list, either all values are number or string, mixed type is not supported",
    ],
    ['{"a":[{"anything-but":[true]}]}', "Inside anything but list, start|null|boolean is not supported."],
    [
      '{"a":[{"anything-but":true}]}',
      "Value of anything-but must be an array or single string/number value.",
    ],
    ['{"a":[{"anything-but":{}}]}', "Anything-But expression name not found"],
    ['{"a":[{"anything-but":{"numeric":[1]}}]}', "Unsupported anything-but pattern: numeric"],
    ['{"a":[{"anything-but":{"prefix":"a","x":1}}]}', "Too many elements in numeric expression"],
    ['{"a":[{"anything-but":"x","y":1}]}', "Too many elements in numeric expression"],
    ['{"a":[{"anything-but":[1e400]}]}', "Cannot compare number : 1e400"],
    ['{"a":[{"anything-but":1e400}]}', "Cannot compare number : 1e400"],
    ['{"a":[{"anything-but":{"wildcard":"a**"}}]}', "Consecutive wildcard characters at pos 2"],
    ['{"a":[{"anything-but":{"suffix":[""]}}]}', "Null prefix/suffix not allowed"],
    ['{"a":[{"prefix":{"equals-ignore-case":1}}]}', "equals-ignore-case match pattern must be a string"],
    ['{"a":[{"prefix":{"wildcard":"x"}}]}', "Unsupported prefix pattern: wildcard"],
    ['{"a":[{"suffix":{}}]}', "Suffix expression name not found"],
    ['{"a":[{"prefix":{"equals-ignore-case":"x","y":1}}]}', "Only one key allowed in match expression"],
    ['{"a":[{"wildcard":"a\\\\b"}]}', "Invalid escape character at pos 2"],
    ['{"a":[{"wildcard":"é**"}]}', "Consecutive wildcard characters at pos 3"],
    ['{"a":[{"wildcard":"x\\\\"}]}', "Invalid escape character at pos 2"],
    ['{"a":[{"cidr":"10.0.0.0/33"}]}', "IPv4 mask bits must be < 32"],
    ['{"a":[{"cidr":"10.0.0.0/32"}]}', "IPv4 mask bits must be < 32"],
    ['{"a":[{"cidr":"::/128"}]}', "IPv6 mask bits must be < 128"],
    ['{"a":[{"cidr":"10.0.0.0/-1"}]}', "Malformed CIDR, mask bits must not be negative"],
    ['{"a":[{"cidr":"10.0.0.0/"}]}', "Malformed CIDR, one '/' required"],
    ['{"a":[{"cidr":"10.0.0.0/8/8"}]}', "Malformed CIDR, one '/' required"],
    ['{"a":[{"cidr":"10.0.0.300/8"}]}', "Invalid IP address: 10.0.0.300"],
    ['{"a":[{"html":"x"}]}', "Unrecognized match type html"],
    ['{"$or":{"a":["b"]}}', "It must be an Array followed with $or."],
    ['{"$or":[{"a":["b"]}]}', "There must have at least 2 Objects in $or relationship."],
    ['{"$or":[{"a":["b"]},["c"]]}', "Only JSON object is allowed in array of $or relationship."],
    ['{"$or":[{"a":["b"]},{}]}', "Empty objects are not allowed"],
    [
      '{"$or":[{"a":{"prefix":["b"]}},{"c":["d"]}]}',
      "prefix is Ruler reserved fieldName which cannot be used inside $or.",
    ],
    ['{"$or":[{"a":["b"]},{">":["d"]}]}', "> is Ruler reserved fieldName which cannot be used inside $or."],
  ];
  for (const [text, expected] of cases) {
    it(`${text} → ${expected}`, () => expect(reason(text)).toBe(expected));
  }

  it("outside $or an operator name is an ordinary field", () => {
    expect(reason('{"prefix":["x"],"numeric":{"exists":[true]}}')).toBeNull();
  });

  it("reports the first problem met, reading in order", () => {
    // The unknown operator comes before the bad JSON further on.
    expect(reason('{"a":[{"nope":1}], "b": tru')).toBe("Unrecognized match type nope");
    expect(reason('{"a": tru, "b":[{"nope":1}]}')).toMatch(/^Unrecognized token 'tru'/);
  });

  it("message is AWS's first line; detail adds Jackson's location, twice where event-ruler reports twice", () => {
    try {
      parseEventPattern('{"a":[{"anything-but":["x",null]}]}');
      expect.unreachable();
    } catch (e) {
      const err = e as InvalidEventPatternError;
      expect(err.message).toBe(
        "Event pattern is not valid. Reason: Inside anything but list, start|null|boolean is not supported.",
      );
      const at = ' at [Source: (String)"{"a":[{"anything-but":["x",null]}]}"; line: 1, column: 32]';
      expect(err.detail).toBe(`${err.message}\n${at}\n${at}`);
      expect(err.location).toEqual({ line: 1, column: 32, offset: 31 });
    }
  });

  it("CIDR errors carry no location (they escape event-ruler's JSON parser)", () => {
    try {
      parseEventPattern('{"a":[{"cidr":"x/8"}]}');
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidEventPatternError).detail).toBe(
        "Event pattern is not valid. Reason: Nonstandard IP address: x",
      );
    }
  });
});

describe("parseEventPattern: limits", () => {
  it("refuses patterns longer than the quota (2048 by default, configurable)", () => {
    const long = `{"a":["${"x".repeat(2100)}"]}`;
    expect(reason(long)).toMatch(/more than the maximum of 2048/);
    expect(parseEventPattern(long, { maxLength: 4096 }).branches).toHaveLength(1);
  });

  it("bounds what $or may expand to", () => {
    const or = (k: string) => `"${k}":{"$or":[{"a":["1"]},{"b":["2"]}]}`;
    const many = `{${Array.from({ length: 11 }, (_, i) => or(`k${i}`)).join(",")}}`; // 2^11 branches
    expect(reason(many)).toMatch(/more than 1000 combinations/);
    const fewer = `{${Array.from({ length: 9 }, (_, i) => or(`k${i}`)).join(",")}}`;
    expect(parseEventPattern(fewer).branches).toHaveLength(512);
  });

  it("refuses nesting deeper than Jackson's 1000 levels", () => {
    const deep = `${'{"a":'.repeat(1001)}["x"]${"}".repeat(1001)}`;
    expect(
      reason(deep, 100_000)?.startsWith("Document nesting depth (1001) exceeds the maximum allowed (1000"),
    ).toBe(true);
    const ok = `${'{"a":'.repeat(400)}["x"]${"}".repeat(400)}`;
    expect(
      parseEventPattern(ok, { maxLength: 10_000 }).branches[0]!.conditions[0]!.path.split("."),
    ).toHaveLength(400);
  });

  it("refuses wildcards too complex for EventBridge's machine, accepts what AWS accepted", () => {
    expect(reason('{"a":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}')).toMatch(/^Rule is too complex/);
    expect(reason('{"a":[{"wildcard":"/Users/*/dir/dir/dir/dir/dir/doc.txt"}]}')).toBeNull();
    expect(reason('{"a":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}')).toBeNull();
    // Measured per field machine: two patterns on one field add up.
    expect(reason('{"a":[{"wildcard":"*:*:*:x"},{"wildcard":"*:*:*:y"}]}')).toMatch(/^Rule is too complex/);
    expect(reason('{"a":[{"wildcard":"*:*:*:x"}],"b":[{"wildcard":"*:*:*:y"}]}')).toBeNull();
  });
});
