import { describe, expect, it } from "vitest";
import { ConfigError } from "../core/errors.js";
import { AccessRules, checkAccessRule, compilePattern } from "./rules.js";

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

describe("the admin action", () => {
  it("is registry-wide: a rule giving admin must have the pattern **", () => {
    expect(() => new AccessRules([{ repository: "**", actions: ["admin"] }])).not.toThrow();
    expect(() => new AccessRules([{ repository: "team/**", actions: ["pull", "admin"] }], "alice")).toThrow(
      ConfigError,
    );
    expect(() => checkAccessRule({ repository: "team/**", actions: ["pull", "admin"] }, "alice")).toThrow(
      'auth.users: the access rule of user alice {repository: "team/**", actions: [pull, admin]} gives admin, which is registry-wide: its repository must be "**" (docs/access.md)',
    );
    // Without an owner (the registry's own construction), the rule alone is named.
    expect(() => new AccessRules([{ repository: "*", actions: ["admin"] }])).toThrow(
      /^auth\.users: the access rule \{repository: "\*", actions: \[admin\]\} gives admin/,
    );
  });

  it("is not a repository action and implies none", () => {
    const adminOnly = new AccessRules([{ repository: "**", actions: ["admin"] }]);
    expect(adminOnly.mayAdminister()).toBe(true);
    expect([...adminOnly.actionsFor("team/app")]).toEqual([]);
    expect(adminOnly.mayPullEverything()).toBe(false);
    expect(adminOnly.mayListCatalog()).toBe(false);
    expect(adminOnly.grant([{ type: "repository", name: "team/app", actions: ["*"] }])).toEqual([]);
    expect(adminOnly.grant([{ type: "repository", name: "team/app", actions: ["admin"] }])).toEqual([]);
  });

  it("sits beside the repository actions of the same rule", () => {
    const admin = new AccessRules([{ repository: "**", actions: ["pull", "push", "delete", "admin"] }]);
    expect(admin.mayAdminister()).toBe(true);
    expect([...admin.actionsFor("any/repo")].sort()).toEqual(["delete", "pull", "push"]);
    expect(admin.grant([{ type: "repository", name: "a", actions: ["*"] }])).toEqual([
      { type: "repository", name: "a", actions: ["pull", "push", "delete"] },
    ]);
    expect(new AccessRules([{ repository: "**", actions: ["pull"] }]).mayAdminister()).toBe(false);
  });
});
