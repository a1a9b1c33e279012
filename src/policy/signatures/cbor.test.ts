import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CborError, CborTag, decodeCbor, encodeCbor, type CborValue } from "./cbor.js";

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");

describe("CBOR", () => {
  it("decodes the examples of RFC 8949 appendix A that COSE uses", () => {
    expect(decodeCbor(hex("00"))).toBe(0);
    expect(decodeCbor(hex("1903e8"))).toBe(1000);
    expect(decodeCbor(hex("3903e7"))).toBe(-1000);
    expect(decodeCbor(hex("1bffffffffffffffff"))).toBe(18446744073709551615n);
    expect(decodeCbor(hex("6449455446"))).toBe("IETF");
    expect(decodeCbor(hex("4401020304"))).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(decodeCbor(hex("83010203"))).toEqual([1, 2, 3]);
    expect(decodeCbor(hex("a201020304"))).toEqual(
      new Map([
        [1, 2],
        [3, 4],
      ]),
    );
    expect(decodeCbor(hex("c074323031332d30332d32315432303a30343a30305a"))).toEqual(
      new CborTag(0, "2013-03-21T20:04:00Z"),
    );
    expect(decodeCbor(hex("f90000"))).toBe(0);
    expect(decodeCbor(hex("f93c00"))).toBe(1);
    expect(decodeCbor(hex("f6"))).toBe(null);
  });

  it("refuses truncated, trailing, indefinite and oversized items", () => {
    for (const bad of [
      "",
      "19",
      "8301",
      "0000",
      "5f",
      "9f",
      "5bffffffffffffffff",
      "9a7fffffff",
      "7a00000010",
    ])
      expect(() => decodeCbor(hex(bad))).toThrow(CborError);
    expect(() => decodeCbor(Buffer.alloc(64, 0x81))).toThrow(/nested too deeply/);
  });

  it("round-trips what the encoder writes", () => {
    const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
        fc.string(),
        fc.uint8Array({ maxLength: 40 }).map((b) => new Uint8Array(b)),
        fc.constant(null),
        fc.boolean(),
        fc.array(tie("v"), { maxLength: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        expect(decodeCbor(encodeCbor(v))).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it("never crashes or hangs on arbitrary bytes: a value or CborError", () => {
    const check = (b: Uint8Array) => {
      try {
        decodeCbor(b);
      } catch (e) {
        if (!(e instanceof CborError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), check), { numRuns: 3000 });
    // Headers that announce huge arrays, maps and strings, followed by little.
    fc.assert(
      fc.property(
        fc.constantFrom(0x9b, 0xbb, 0x5b, 0x7b, 0x9a, 0xba, 0x5a, 0x7a, 0xdb),
        fc.uint8Array({ minLength: 8, maxLength: 64 }),
        (h, rest) => check(Buffer.concat([Buffer.from([h]), rest])),
      ),
      { numRuns: 1000 },
    );
  });
});
