import { describe, expect, it } from "vitest";
import { covers, formatScope, mergeAccess, missingAccess, parseScope, parseScopes } from "./scope.js";

describe("scope parsing", () => {
  it("parses repository and registry scopes", () => {
    expect(parseScope("repository:team/app:pull,push")).toEqual({
      type: "repository",
      name: "team/app",
      actions: ["pull", "push"],
    });
    expect(parseScope("registry:catalog:*")).toEqual({ type: "registry", name: "catalog", actions: ["*"] });
  });

  it("drops a resource class and duplicate actions", () => {
    expect(parseScope("repository(plugin):team/app:pull,pull")).toEqual({
      type: "repository",
      name: "team/app",
      actions: ["pull"],
    });
  });

  it("keeps colons inside the name (between the first and last colon)", () => {
    expect(parseScope("repository:host:5000/app:pull")?.name).toBe("host:5000/app");
  });

  it("ignores malformed and unknown scopes", () => {
    for (const s of [
      "",
      "repository",
      "repository:app",
      "repository::pull",
      "repository:app:",
      "foo:bar:baz",
    ]) {
      expect(parseScope(s)).toBeNull();
    }
  });

  it("accepts repeated parameters and space-separated lists", () => {
    expect(
      parseScopes(["repository:a:pull repository:b:push", "registry:catalog:*", "junk"]).map(formatScope),
    ).toEqual(["repository:a:pull", "repository:b:push", "registry:catalog:*"]);
  });
});

describe("access coverage", () => {
  const granted = [
    { type: "repository" as const, name: "a", actions: ["pull", "push"] },
    { type: "registry" as const, name: "catalog", actions: ["*"] },
  ];
  it("covers when every requested action is granted on the same resource", () => {
    expect(covers(granted, [])).toBe(true);
    expect(covers(granted, [{ type: "repository", name: "a", actions: ["pull", "push"] }])).toBe(true);
    expect(covers(granted, [{ type: "registry", name: "catalog", actions: ["*"] }])).toBe(true);
    expect(covers(granted, [{ type: "repository", name: "a", actions: ["delete"] }])).toBe(false);
    expect(covers(granted, [{ type: "repository", name: "ab", actions: ["pull"] }])).toBe(false);
    expect(covers(granted, [{ type: "registry", name: "a", actions: ["pull"] }])).toBe(false);
  });

  it("reports what is missing and merges duplicates", () => {
    expect(
      missingAccess(granted, [
        { type: "repository", name: "a", actions: ["pull"] },
        { type: "repository", name: "b", actions: ["pull"] },
      ]),
    ).toEqual([{ type: "repository", name: "b", actions: ["pull"] }]);
    expect(
      mergeAccess([
        { type: "repository", name: "a", actions: ["pull"] },
        { type: "repository", name: "a", actions: ["push", "pull"] },
      ]),
    ).toEqual([{ type: "repository", name: "a", actions: ["pull", "push"] }]);
  });
});
