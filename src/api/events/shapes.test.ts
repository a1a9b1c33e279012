import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AwsError } from "../aws-json.js";
import { int, limit, list, name, req, str, struct, validate, type Member } from "./shapes.js";

/** A PutTargets-like shape: nested structures, lists, enums, patterns, lengths and ranges. */
const shape: Record<string, Member> = {
  Rule: req(name()),
  State: str({ enum: ["ENABLED", "DISABLED"] }),
  Limit: limit,
  Targets: req(
    list(
      struct({
        Id: req(name()),
        Arn: req(str({ min: 1, max: 1600 })),
        RetryPolicy: struct({ MaximumRetryAttempts: int(0, 185) }),
      }),
      1,
      5,
    ),
  ),
};

const validName = fc.stringMatching(/^[.\-_A-Za-z0-9]{1,64}$/);

describe("EventBridge request validation (untrusted JSON)", () => {
  it("answers any JSON with the input, a ValidationException or a SerializationException, never another error", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("Rule", "State", "Limit", "Targets", "Other"), fc.jsonValue()),
        (input) => {
          try {
            expect(validate(shape, input)).toBe(input);
          } catch (e) {
            expect(e).toBeInstanceOf(AwsError);
            expect(["ValidationException", "SerializationException"]).toContain((e as AwsError).code);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("accepts every well-formed input", () => {
    fc.assert(
      fc.property(
        validName,
        fc.array(fc.record({ Id: validName, Arn: fc.string({ minLength: 1, maxLength: 100 }) }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: 1, max: 100 }),
        (rule, targets, lim) => {
          expect(() => validate(shape, { Rule: rule, Targets: targets, Limit: lim })).not.toThrow();
        },
      ),
    );
  });

  it("counts and lists every failure, in AWS's words and member paths", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), (badIds) => {
        const targets = Array.from({ length: 5 }, (_, i) => ({
          Id: i < Math.min(badIds, 5) ? "a b" : "ok",
          Arn: "x",
        }));
        const extra = badIds === 6 ? { Limit: 0 } : {};
        const failures = Math.min(badIds, 5) + (badIds === 6 ? 1 : 0);
        try {
          validate(shape, { Rule: "r", Targets: targets, ...extra });
          throw new Error("expected a ValidationException");
        } catch (e) {
          const m = (e as AwsError).message;
          expect(m.startsWith(`${failures} validation error${failures === 1 ? "" : "s"} detected: `)).toBe(
            true,
          );
          expect(m.split("; ")).toHaveLength(failures);
          expect(m).toContain(
            "Value 'a b' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
          );
        }
      }),
    );
  });

  it("a missing required member is 'must not be null'; a wrong type a SerializationException", () => {
    expect(() => validate(shape, { Targets: [{ Id: "a", Arn: "b" }] })).toThrow(
      "1 validation error detected: Value null at 'rule' failed to satisfy constraint: Member must not be null",
    );
    expect(() => validate(shape, { Rule: "r", Targets: "x" })).toThrow(AwsError);
    expect(() => validate(shape, { Rule: "r", Targets: [{ Id: "a", Arn: "b" }], Limit: 2 ** 31 })).toThrow(
      "Unexpected value type at 'limit': expected an integer.",
    );
    try {
      validate(shape, { Rule: ["r"], Targets: [] });
    } catch (e) {
      expect((e as AwsError).code).toBe("SerializationException");
    }
  });
});
