import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SignatureFormatError, parseSimpleSigning, referenceRepository } from "./simple-signing.js";
import { simpleSigningPayload } from "./testing.js";

const D = `sha256:${"a".repeat(64)}`;

describe("simple-signing payload", () => {
  it("reads the digest and docker-reference cosign, skopeo and podman write", () => {
    expect(parseSimpleSigning(simpleSigningPayload("r.example/prod/api:1", D))).toEqual({
      manifestDigest: D,
      dockerReference: "r.example/prod/api:1",
    });
  });

  it("refuses other types, missing claims and bad digests with SignatureFormatError", () => {
    const bad = [
      simpleSigningPayload("a", D, "atomic container signature"),
      simpleSigningPayload("a", "sha256:abc"),
      Buffer.from('{"critical":{"type":"cosign container image signature","image":{}}}'),
      Buffer.from("[]"),
      Buffer.from("\xff\xfe"),
      Buffer.alloc(70_000, 0x20),
    ];
    for (const b of bad) expect(() => parseSimpleSigning(b)).toThrow(SignatureFormatError);
  });

  it("never throws anything but SignatureFormatError on arbitrary bytes or JSON", () => {
    const check = (b: Uint8Array) => {
      try {
        parseSimpleSigning(b);
      } catch (e) {
        if (!(e instanceof SignatureFormatError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check), { numRuns: 500 });
    fc.assert(
      fc.property(fc.jsonValue(), (v) => check(Buffer.from(JSON.stringify({ critical: v }) ?? "null"))),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.jsonValue(), (t, image, identity) =>
        check(Buffer.from(JSON.stringify({ critical: { type: t, image, identity } }))),
      ),
      { numRuns: 300 },
    );
  });

  it("takes the repository of a docker reference without host, tag or digest", () => {
    expect(referenceRepository("127.0.0.1:5000/prod/api:1")).toBe("prod/api");
    expect(referenceRepository("registry.example.com/prod/api@" + D)).toBe("prod/api");
    expect(referenceRepository("localhost/a")).toBe("a");
    expect(referenceRepository("prod/api")).toBe("prod/api");
    expect(referenceRepository("api:latest")).toBe("api");
  });
});
