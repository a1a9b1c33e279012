import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { testContext } from "../testing.js";
import { poetryLockCataloger, uvLockCataloger } from "./python/locks.js";
import { catalogCargoLock } from "./rust/cargolock.js";
import { parseLockToml, TomlError } from "./toml.js";

/** TOML (smol-toml) as the lock-file catalogers read it: Cargo.lock, poetry.lock, uv.lock. */

describe("TOML lock files", () => {
  it("reads what lock files use", () => {
    const doc = parseLockToml(
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
      patch: { unused: { multi: 'one two"' } },
    });
  });

  it("rejects malformed documents with a TomlError naming the line", () => {
    const bad: [string, RegExp][] = [
      ["a =\nb = 1", /^line 1, column \d+: /],
      ['a = "unterminated\n', /^line 1, /],
      ["[[package]\n", /^line 1, /],
      ["a = 1 2\n", /^line 1, /],
      ["a = 1\na = 2\n", /^line 2, /],
      ['a = "\\q"\n', /^line 1, /],
      ["a = [1, 2\n", /^line \d, /],
      ['a = """never closed\n', /^line 1, /],
      ["= 1\n", /^line 1, /],
      ["a = bare\n", /^line 1, /],
      ["a = " + "[".repeat(10_000), /nested/],
      ["a = 1\0", /binary content/],
    ];
    for (const [text, err] of bad) {
      expect(() => parseLockToml(text), text.slice(0, 40)).toThrow(TomlError);
      expect(() => parseLockToml(text), text.slice(0, 40)).toThrow(err);
    }
  });

  it("drops __proto__ keys instead of touching a prototype", () => {
    const doc = parseLockToml('__proto__ = 1\n[[package]]\nname = "a"\n[package.__proto__]\nx = 1\n');
    expect(doc).toEqual({ package: [{ name: "a" }] });
    expect(Object.hasOwn(doc, "__proto__")).toBe(false);
    expect((Object.prototype as Record<string, unknown>).x).toBeUndefined();
  });

  it("a malformed Cargo.lock is a problem with the line, not a throw", () => {
    const r = catalogCargoLock({
      path: "/app/Cargo.lock",
      content: Buffer.from('[[package]]\nname = "a"\nversion =\n'),
    });
    expect(r.packages).toEqual([]);
    expect(r.problems).toEqual([expect.stringMatching(/^not a valid Cargo\.lock: line 3, column \d+: /)]);
  });
});

/** Text made of TOML's own pieces, so that the properties reach past the first byte. */
const tomlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "[[package]]\n",
        "[package.x]\n",
        'name = "a"\n',
        "version = ",
        '"1.0.0"',
        "'lit'",
        '"""',
        "'''",
        "[",
        "]",
        "{",
        "}",
        "=",
        ",",
        ".",
        "\n",
        "\r\n",
        " ",
        "# c\n",
        "\\",
        "\\u00e9",
        "1979-05-27T07:32:00Z",
        "0x1f",
        "1_000",
        "inf",
        "true",
        "__proto__",
        "dependencies = [",
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 120 },
  )
  .map((parts) => parts.join(""));

describe("TOML lock files: properties", () => {
  it("any text parses or throws a TomlError", () => {
    fc.assert(
      fc.property(fc.oneof(tomlish, fc.string({ unit: "binary", maxLength: 400 })), (text) => {
        try {
          parseLockToml(text);
        } catch (e) {
          expect(e).toBeInstanceOf(TomlError);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("any bytes make a Cargo.lock, poetry.lock or uv.lock result, never a throw", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          tomlish.map((t) => Buffer.from(t)),
          fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
        ),
        async (content) => {
          const t0 = performance.now();
          const cargo = catalogCargoLock({ path: "/app/Cargo.lock", content });
          expect(Array.isArray(cargo.packages)).toBe(true);
          for (const [c, path] of [
            [poetryLockCataloger, "/app/poetry.lock"],
            [uvLockCataloger, "/app/uv.lock"],
          ] as const) {
            const r = await c.parse({ path, size: content.length, mode: 0o100644, content }, testContext);
            expect(Array.isArray(r.packages)).toBe(true);
            for (const p of r.problems ?? []) expect(typeof p).toBe("string");
          }
          expect(performance.now() - t0).toBeLessThan(1000);
        },
      ),
      { numRuns: 200 },
    );
  });
});
