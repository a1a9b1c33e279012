import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeHost, parseImageReference } from "./image-reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseImageReference", () => {
  it.each([
    ["nginx", { host: "docker.io", repository: "library/nginx" }],
    ["nginx:1.25", { host: "docker.io", repository: "library/nginx", tag: "1.25" }],
    ["team/app:v1", { host: "docker.io", repository: "team/app", tag: "v1" }],
    [
      "registry.example.com/prod/api:1.0",
      { host: "registry.example.com", repository: "prod/api", tag: "1.0" },
    ],
    ["Registry.Example.com:5000/prod/api", { host: "registry.example.com:5000", repository: "prod/api" }],
    ["localhost/app", { host: "localhost", repository: "app" }],
    ["127.0.0.1:5000/a/b/c:t@" + D, { host: "127.0.0.1:5000", repository: "a/b/c", tag: "t", digest: D }],
    ["host.io/app@" + D, { host: "host.io", repository: "app", digest: D }],
    ["[::1]:5000/app:x", { host: "[::1]:5000", repository: "app", tag: "x" }],
  ])("%s", (ref, expected) => {
    expect(parseImageReference(ref)).toEqual(expected);
  });

  it.each([
    "",
    "UPPER/case",
    "host.io/",
    "app:",
    "app:-bad",
    "app@sha256:short",
    "a//b",
    "host.io/app:t:u",
    ":tag",
    "@" + D,
  ])("refuses %j", (ref) => {
    expect(parseImageReference(ref)).toBeNull();
  });

  it("normalizes hosts", () => {
    expect(normalizeHost("Reg.io:443")).toBe("reg.io");
    expect(normalizeHost("reg.io:5000")).toBe("reg.io:5000");
  });

  it("never throws, and what it parses prints back to an equivalent reference", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const r = parseImageReference(s);
        if (!r) return;
        const again = parseImageReference(
          `${r.host}/${r.repository}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`,
        );
        expect(again).toEqual(r);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips generated references", () => {
    const comp = fc.stringMatching(/^[a-z0-9]{1,5}(?:[._-][a-z0-9]{1,3})?$/);
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom("reg.io", "reg.io:5000", "localhost:5000"), { nil: undefined }),
        fc.array(comp, { minLength: 1, maxLength: 3 }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), { nil: undefined }),
        fc.option(fc.constant(D), { nil: undefined }),
        (host, path, tag, digest) => {
          // without a host, a first component with a dot would be read as one (as docker does)
          fc.pre(host !== undefined || path.length === 1 || !path[0]!.includes("."));
          const ref = `${host ? `${host}/` : ""}${path.join("/")}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
          const r = parseImageReference(ref);
          expect(r).not.toBeNull();
          expect(r!.host).toBe(host ?? "docker.io");
          expect(r!.repository).toBe(!host && path.length === 1 ? `library/${path[0]}` : path.join("/"));
          expect(r!.tag).toBe(tag);
          expect(r!.digest).toBe(digest);
        },
      ),
    );
  });
});
