import { describe, expect, it } from "vitest";
import { accepts, parseRange, parseRoute } from "./routes.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseRoute", () => {
  it.each([
    ["/v2", { kind: "base" }],
    ["/v2/", { kind: "base" }],
    ["/v2/_catalog", { kind: "catalog" }],
    ["/v2/a/b/tags/list", { kind: "tags", name: "a/b" }],
    ["/v2/a/manifests/latest", { kind: "manifest", name: "a", reference: "latest" }],
    [`/v2/a/b/c/manifests/${D}`, { kind: "manifest", name: "a/b/c", reference: D }],
    ["/v2/a/blobs/uploads/", { kind: "uploads", name: "a" }],
    ["/v2/a/blobs/uploads", { kind: "uploads", name: "a" }],
    ["/v2/a/blobs/uploads/1234-abcd", { kind: "upload", name: "a", id: "1234-abcd" }],
    [`/v2/a/blobs/${D}`, { kind: "blob", name: "a", digest: D }],
    [`/v2/a/referrers/${D}`, { kind: "referrers", name: "a", digest: D }],
    // Repository names may end in words that are also endpoint names.
    ["/v2/blobs/manifests/tags/list", { kind: "tags", name: "blobs/manifests" }],
    ["/v2/x/blobs/uploads/manifests/v1", { kind: "manifest", name: "x/blobs/uploads", reference: "v1" }],
    // Names are validated later (NAME_INVALID), not by the router.
    ["/v2/a/../b/tags/list", { kind: "tags", name: "a/../b" }],
  ])("%s", (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it.each(["/v2/a", "/v2/a/manifests/", "/v2/a/blobs/", "/v2/a/tags", "/v2/_catalog/x", "/v3/a/tags/list"])(
    "%s is no endpoint",
    (path) => {
      expect(parseRoute(path)).toBeNull();
    },
  );
});

describe("parseRange", () => {
  it("no header: the whole blob", () => {
    expect(parseRange(undefined, 100)).toBeNull();
  });

  it.each([
    ["bytes=0-9", { start: 0, end: 9 }],
    ["bytes=10-", { start: 10, end: 99 }],
    ["bytes=90-200", { start: 90, end: 99 }], // cut to the blob's end
    ["bytes=-10", { start: 90, end: 99 }],
    ["bytes=-500", { start: 0, end: 99 }], // suffix longer than the blob: all of it
    ["bytes=99-99", { start: 99, end: 99 }],
    [" bytes=5-6 ", { start: 5, end: 6 }],
    ["BYTES=1-2", { start: 1, end: 2 }],
  ])("%s of 100 bytes", (header, range) => {
    expect(parseRange(header, 100)).toEqual(range);
  });

  it.each(["bytes=100-", "bytes=100-200", "bytes=1000-", "bytes=-0"])(
    "%s of 100 bytes is unsatisfiable",
    (header) => {
      expect(parseRange(header, 100)).toBe("unsatisfiable");
    },
  );

  it("any range of an empty blob is unsatisfiable", () => {
    expect(parseRange("bytes=0-", 0)).toBe("unsatisfiable");
    expect(parseRange("bytes=-1", 0)).toBe("unsatisfiable");
  });

  it.each(["bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=-", "bytes=a-b", "0-9", ""])(
    "%j is ignored (RFC 9110 allows it): the whole blob",
    (header) => {
      expect(parseRange(header, 100)).toBeNull();
    },
  );
});

describe("accepts", () => {
  const OCI = "application/vnd.oci.image.manifest.v1+json";
  const INDEX = "application/vnd.oci.image.index.v1+json";

  it("no Accept header, or an empty one, admits anything", () => {
    expect(accepts(undefined, OCI)).toBe(true);
    expect(accepts("", OCI)).toBe(true);
    expect(accepts("  ", OCI)).toBe(true);
  });

  it.each([
    OCI,
    `${INDEX}, ${OCI}`,
    `${INDEX},${OCI};q=0.5`,
    "*/*",
    "application/*",
    `text/plain, */*;q=0.1`,
    // Repeated Accept headers arrive joined by Node with ", " (skopeo sends one per type).
    `application/vnd.docker.distribution.manifest.v2+json, ${OCI}`,
    OCI.toUpperCase(),
    `${OCI}; charset=utf-8`,
  ])("%s admits the OCI manifest type", (header) => {
    expect(accepts(header, OCI)).toBe(true);
  });

  it.each([
    INDEX,
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/json", // a different type, whatever the +json suffix
    "text/*",
    `${OCI};q=0`,
    `${OCI};q=0, */*`, // the most specific range wins
    `*/*;q=0`,
    `application/*;q=0, text/plain`,
  ])("%s does not admit the OCI manifest type", (header) => {
    expect(accepts(header, OCI)).toBe(false);
  });
});
