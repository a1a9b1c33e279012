import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cosignAttachmentKind,
  cosignAttachmentSubject,
  cosignAttachmentTag,
  isCosignAttachmentTag,
} from "./referrers.js";

const HEX = "a".repeat(63) + "b";

describe("cosign attachment tags", () => {
  it("recognises .sig, .att and .sbom of a sha256 digest", () => {
    for (const kind of ["sig", "att", "sbom"] as const) {
      const tag = `sha256-${HEX}.${kind}`;
      expect(isCosignAttachmentTag(tag)).toBe(true);
      expect(cosignAttachmentSubject(tag)).toBe(`sha256:${HEX}`);
      expect(cosignAttachmentKind(tag)).toBe(kind);
      expect(cosignAttachmentTag(`sha256:${HEX}`, kind)).toBe(tag);
    }
  });

  it("refuses near misses", () => {
    for (const tag of [
      "latest",
      `sha256-${HEX}`,
      `sha256-${HEX}.sig2`,
      `sha256-${HEX}.SIG`,
      `sha256-${HEX.toUpperCase()}.sig`,
      `sha256-${HEX.slice(1)}.sig`,
      `sha256-${HEX}0.sig`,
      `sha512-${HEX}.sig`,
      `sha256:${HEX}.sig`,
      `x-sha256-${HEX}.sig`,
      `sha256-${HEX}.sig\n`,
    ]) {
      expect(isCosignAttachmentTag(tag)).toBe(false);
      expect(cosignAttachmentSubject(tag)).toBeNull();
      expect(cosignAttachmentKind(tag)).toBeNull();
    }
    expect(cosignAttachmentTag(`sha512:${HEX}`, "sig")).toBeNull();
  });

  it("subject and tag round-trip for any sha256 digest", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.constantFrom("sig", "att", "sbom"),
        (hex, kind: "sig" | "att" | "sbom") => {
          const tag = cosignAttachmentTag(`sha256:${hex}`, kind);
          expect(tag).not.toBeNull();
          expect(cosignAttachmentSubject(tag!)).toBe(`sha256:${hex}`);
        },
      ),
    );
  });

  it("any string is either an attachment tag with a subject or neither", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(isCosignAttachmentTag(s)).toBe(cosignAttachmentSubject(s) !== null);
      }),
    );
  });
});
