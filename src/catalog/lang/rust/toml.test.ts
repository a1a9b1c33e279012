import { describe, expect, it } from "vitest";
import { parseToml, TomlError } from "./toml.js";

describe("TOML reader", () => {
  it("reads what lock files use", () => {
    const doc = parseToml(
      [
        "# comment",
        "version = 3",
        "",
        "[[package]]",
        'name = "a" # trailing comment',
        'version = """1.0.0"""',
        "dependencies = [",
        ' "b 0.1.0 (registry+https://x)", # why',
        " 'c',",
        "]",
        "",
        "[[package]]",
        "name = 'lit\\eral'",
        'version = "2.0.0\\u00e9\\t"',
        'opts = { path = "x", "quoted key" = true, n = 1_000 }',
        "",
        "[metadata]",
        '"checksum a 1.0.0 (registry+https://x)" = "abc"',
        "",
        "[patch.unused]",
        "when = 1979-05-27T07:32:00Z",
        'multi = """',
        "one \\",
        '   two""""',
        "",
      ].join("\r\n"),
    );
    expect(doc).toEqual({
      version: 3,
      package: [
        { name: "a", version: "1.0.0", dependencies: ["b 0.1.0 (registry+https://x)", "c"] },
        { name: "lit\\eral", version: "2.0.0é\t", opts: { path: "x", "quoted key": true, n: 1000 } },
      ],
      metadata: { "checksum a 1.0.0 (registry+https://x)": "abc" },
      patch: { unused: { when: "1979-05-27T07:32:00Z", multi: 'one two"' } },
    });
  });

  it("rejects malformed documents with a line number", () => {
    const bad: [string, RegExp][] = [
      ["a =\nb = 1", /line 1: expected a value/],
      ['a = "unterminated\n', /line 1: unterminated string/],
      ["[[package]\n", /line 1: expected \]\]/],
      ["a = 1 2\n", /line 1: unexpected/],
      ["a = 1\na = 2\n", /line 2: duplicate key a/],
      ['a = "\\q"\n', /bad escape/],
      ["a = [1, 2\n", /expected , or \]/],
      ['a = """never closed\n', /unterminated multi-line string/],
      ["= 1\n", /expected a key/],
    ];
    for (const [text, err] of bad) expect(() => parseToml(text), text).toThrow(err);
    expect(() => parseToml("a = " + "[".repeat(10_000))).toThrow(TomlError);
  });
});
