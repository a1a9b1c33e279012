import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRepositoryPatterns, repositoryPatternMatches } from "./patterns.js";

/** A deliberately naive recursive reference matcher (exponential, fine for short inputs). */
function refSegment(p: string, t: string): boolean {
  if (p === "") return t === "";
  if (p[0] === "*") return refSegment(p.slice(1), t) || (t !== "" && refSegment(p, t.slice(1)));
  return t !== "" && p[0] === t[0] && refSegment(p.slice(1), t.slice(1));
}
function refSegments(p: string[], n: string[]): boolean {
  if (p.length === 0) return n.length === 0;
  if (p[0] === "**") return refSegments(p.slice(1), n) || (n.length > 0 && refSegments(p, n.slice(1)));
  return n.length > 0 && refSegment(p[0]!, n[0]!) && refSegments(p.slice(1), n.slice(1));
}
const reference = (pattern: string, name: string) => refSegments(pattern.split("/"), name.split("/"));

describe("repositoryPatternMatches", () => {
  it.each([
    ["prod/**", "prod", true],
    ["prod/**", "prod/api", true],
    ["prod/**", "prod/a/b/c", true],
    ["prod/**", "production/api", false],
    ["prod/**", "dev/prod/api", false],
    ["**", "anything/at/all", true],
    ["**/api", "api", true],
    ["**/api", "x/y/api", true],
    ["**/api", "x/y/api2", false],
    ["a/**/z", "a/z", true],
    ["a/**/z", "a/b/c/z", true],
    ["a/**/z", "a/b/c/y", false],
    ["team-*", "team-a", true],
    ["team-*", "team-", true],
    ["team-*", "team-a/x", false],
    ["*/api", "x/api", true],
    ["*/api", "api", false],
    ["*/api", "x/y/api", false],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXbYY", false],
    ["prod/api", "prod/api", true],
    ["prod/api", "prod/api2", false],
    ["prod/api", "Prod/api", false],
    ["a**b", "aXb", true],
    ["a**b", "aX/b", false],
  ])("%s ~ %s = %s", (pattern, name, expected) => {
    expect(repositoryPatternMatches(pattern, name)).toBe(expected);
    expect(compileRepositoryPatterns([pattern])(name)).toBe(expected);
  });

  it("an empty pattern list matches nothing; any of several matches", () => {
    expect(compileRepositoryPatterns([])("prod/api")).toBe(false);
    const m = compileRepositoryPatterns(["dev/*", "prod/api", "**/cache"]);
    expect(m("dev/x")).toBe(true);
    expect(m("prod/api")).toBe(true);
    expect(m("a/b/cache")).toBe(true);
    expect(m("prod/web")).toBe(false);
  });

  const segment = fc.stringMatching(/^[ab*-]{0,4}$/);
  const patternArb = fc
    .array(fc.oneof(segment, fc.constant("**")), { minLength: 1, maxLength: 5 })
    .map((s) => s.join("/"));
  const nameArb = fc
    .array(fc.stringMatching(/^[ab-]{0,4}$/), { minLength: 1, maxLength: 6 })
    .map((s) => s.join("/"));

  it("agrees with a naive reference matcher", () => {
    fc.assert(
      fc.property(patternArb, nameArb, (pattern, name) => {
        const expected = reference(pattern, name);
        expect(repositoryPatternMatches(pattern, name)).toBe(expected);
        expect(compileRepositoryPatterns([pattern, "zzz"])(name)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it("a pattern without wildcards matches only itself; `**` everything", () => {
    fc.assert(
      fc.property(nameArb, nameArb, (a, b) => {
        expect(repositoryPatternMatches(a, b)).toBe(a === b);
        expect(repositoryPatternMatches("**", b)).toBe(true);
        expect(repositoryPatternMatches(`${a}/**`, a)).toBe(true);
      }),
    );
  });

  it("stays fast on adversarial input", () => {
    const pattern = "**/" + Array.from({ length: 30 }, () => "*a*a*a*").join("/") + "/b";
    const name = Array.from({ length: 200 }, () => "a".repeat(60)).join("/");
    const started = performance.now();
    expect(repositoryPatternMatches(pattern, name)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
