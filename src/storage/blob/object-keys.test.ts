import { join, relative, resolve, sep } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkObjectKey, checkObjectPrefix, objectKeyProblem } from "./object-keys.js";

const ROOT = "/srv/drydock/objects";

describe("object keys", () => {
  it("accepts report-like keys", () => {
    for (const k of [
      "reports/my-bucket/r.csv",
      "reports/b/team/app/SPDX_2_3_outputs_1/account=123/resource=AWS_ECR_CONTAINER_IMAGE/arn:aws:ecr:us-east-1:1:repository_a_sha256:ab_SPDX_2_3.json",
      "a",
      "ünïcödé/ключ",
    ])
      expect(objectKeyProblem(k), k).toBeNull();
  });

  it("refuses what could escape or confuse a directory tree", () => {
    for (const [k, why] of [
      ["", /empty/],
      ["/etc/passwd", /starts with/],
      ["a/", /ends with/],
      ["a//b", /empty segment/],
      ["..", /\.\. segment/],
      ["a/../../b", /\.\. segment/],
      ["./a", /\. segment/],
      ["a\\..\\b", /backslash/],
      ["a\nb", /control/],
      ["\ud800", /Unicode/],
      ["x".repeat(256), /segment is longer/],
      ["a/".repeat(600) + "a", /longer than 1024/],
    ] as const)
      expect(objectKeyProblem(k), k).toMatch(why);
    expect(() => checkObjectKey("../x")).toThrow(/invalid object key "\.\.\/x"/);
    expect(() => checkObjectPrefix("a")).toThrow(/must end with/);
    expect(() => checkObjectPrefix("a//b/")).toThrow(/empty segment/);
    expect(() => checkObjectPrefix("")).not.toThrow();
    expect(() => checkObjectPrefix("reports/b/")).not.toThrow();
  });

  it("every accepted key is a path strictly inside the store's directory, naming the same segments", () => {
    const chars = fc.constantFrom(
      "a",
      "Z",
      "0",
      ".",
      "-",
      "_",
      "/",
      "\\",
      ":",
      "=",
      " ",
      "é",
      "\u0000",
      "\n",
    );
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 40 }), (key) => {
        if (objectKeyProblem(key) !== null) return;
        const path = resolve(join(ROOT, ...key.split("/")));
        expect(path.startsWith(ROOT + sep)).toBe(true);
        expect(relative(ROOT, path).split(sep).join("/")).toBe(key);
      }),
      { numRuns: 5000 },
    );
  });

  it("any string: a verdict, never a throw; a key with a dot-dot or empty segment is refused", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), (key) => {
        const p = objectKeyProblem(key);
        if (key.split("/").some((s) => s === "" || s === "." || s === "..")) expect(p).not.toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});
