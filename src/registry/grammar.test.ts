import { describe, expect, it } from "vitest";
import { isValidName, isValidTag } from "./grammar.js";

/**
 * Repository name and tag grammar, OCI Distribution Spec v1.1 ("Pulling manifests"):
 * name  [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 * tag   [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
 */
describe("repository names", () => {
  it.each([
    "a",
    "library/ubuntu",
    "team/app/api",
    "0",
    "a.b",
    "a_b",
    "a__b",
    "a-b",
    "a--b",
    "a---b",
    "a.b-c_d__e/f0.g",
    "x".repeat(255),
    `${"a/".repeat(127)}a`, // 255 characters of many components
  ])("accepts %s", (name) => {
    expect(isValidName(name)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["uppercase", "Library/ubuntu"],
    ["uppercase in a later component", "library/Ubuntu"],
    ["a leading slash", "/a"],
    ["a trailing slash", "a/"],
    ["an empty component", "a//b"],
    ["a dot-dot component", "a/../b"],
    ["a dot component", "a/./b"],
    ["a leading separator", "-a"],
    ["a trailing separator", "a-"],
    ["a leading dot", ".a"],
    ["a trailing dot", "a."],
    ["two dots", "a..b"],
    ["three underscores", "a___b"],
    ["a dot then a dash", "a.-b"],
    ["a dash then an underscore", "a-_b"],
    ["a space", "a b"],
    ["a colon", "a:b"],
    ["an at sign", "a@b"],
    ["a non-ASCII letter", "caf\u00e9"],
    ["256 characters", "x".repeat(256)],
    ["a newline", "a\nb"],
  ])("refuses a name with %s", (_what, name) => {
    expect(isValidName(name)).toBe(false);
  });
});

describe("tags", () => {
  it.each([
    "latest",
    "v1.2.3",
    "1",
    "_",
    "_private",
    "A",
    "UPPER-lower_0.9",
    "sha256-abc", // the referrers tag schema's form
    "t".repeat(128),
  ])("accepts %s", (tag) => {
    expect(isValidTag(tag)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["a leading dot", ".hidden"],
    ["a leading dash", "-x"],
    ["129 characters", "t".repeat(129)],
    ["a colon (a digest, not a tag)", "sha256:abc"],
    ["a slash", "a/b"],
    ["a plus", "a+b"],
    ["a space", "a b"],
    ["an at sign", "a@b"],
    ["a non-ASCII letter", "v\u00e9"],
    ["a trailing newline", "latest\n"],
  ])("refuses a tag with %s", (_what, tag) => {
    expect(isValidTag(tag)).toBe(false);
  });
});
