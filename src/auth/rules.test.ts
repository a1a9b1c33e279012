import { describe, expect, it } from "vitest";
import { AccessRules, compilePattern } from "./rules.js";

describe("repository patterns", () => {
  const cases: [string, string, boolean][] = [
    ["team/app", "team/app", true],
    ["team/app", "team/app2", false],
    ["team/app", "x/team/app", false],
    ["team/*", "team/app", true],
    ["team/*", "team/app/dev", false],
    ["team/*", "team", false],
    ["team/*", "team/", true],
    ["*/app", "team/app", true],
    ["*/app", "a/b/app", false],
    ["team/**", "team/app", true],
    ["team/**", "team/app/dev", true],
    ["team/**", "team", false],
    ["team/**", "teams/app", false],
    ["**/app", "a/b/app", true],
    ["**/app", "app", false],
    ["**", "anything/at/all", true],
    ["*", "library", true],
    ["*", "library/debian", false],
    ["a.b", "aXb", false],
    ["a-*", "a-b", true],
    ["team/app-*", "team/app-dev", true],
    ["team/app-*", "team/app-dev/x", false],
  ];
  it.each(cases)("%s matches %s: %s", (pattern, name, expected) => {
    expect(compilePattern(pattern).test(name)).toBe(expected);
  });
});

describe("AccessRules", () => {
  const rules = new AccessRules([
    { repository: "team/**", actions: ["pull"] },
    { repository: "team/app", actions: ["push"] },
    { repository: "scratch/*", actions: ["pull", "push", "delete"] },
  ]);

  it("unions the actions of every matching rule", () => {
    expect([...rules.actionsFor("team/app")].sort()).toEqual(["pull", "push"]);
    expect([...rules.actionsFor("team/other")]).toEqual(["pull"]);
    expect([...rules.actionsFor("elsewhere")]).toEqual([]);
  });

  it("grants the intersection of requested and allowed access, dropping what is empty", () => {
    expect(
      rules.grant([
        { type: "repository", name: "team/app", actions: ["pull", "push"] },
        { type: "repository", name: "team/lib", actions: ["pull", "push"] },
        { type: "repository", name: "secret/x", actions: ["pull"] },
      ]),
    ).toEqual([
      { type: "repository", name: "team/app", actions: ["pull", "push"] },
      { type: "repository", name: "team/lib", actions: ["pull"] },
    ]);
  });

  it("expands * on a repository to every allowed action", () => {
    expect(rules.grant([{ type: "repository", name: "scratch/a", actions: ["*"] }])).toEqual([
      { type: "repository", name: "scratch/a", actions: ["pull", "push", "delete"] },
    ]);
  });

  it("grants the catalog only to users who may pull every repository", () => {
    const catalog = [{ type: "registry" as const, name: "catalog", actions: ["*"] }];
    expect(rules.grant(catalog)).toEqual([]);
    expect(rules.mayListCatalog()).toBe(false);
    const admin = new AccessRules([{ repository: "**", actions: ["pull"] }]);
    expect(admin.grant(catalog)).toEqual(catalog);
    expect(new AccessRules([{ repository: "**", actions: ["push"] }]).mayListCatalog()).toBe(false);
  });

  it("ignores unknown actions and resource types", () => {
    expect(rules.grant([{ type: "repository", name: "team/app", actions: ["admin"] }])).toEqual([]);
    expect(rules.grant([{ type: "registry", name: "other", actions: ["*"] }])).toEqual([]);
  });
});
