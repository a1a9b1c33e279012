import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AwsPrincipal } from "../access.js";
import type { Inspector2Backend } from "./backend.js";
import { Inspector2Error } from "./errors.js";
import { inspector2Operations } from "./operations.js";
import { parseJsonObject } from "./protocol.js";
import {
  DATE_KEYS,
  INAPPLICABLE_DATE_KEYS,
  INAPPLICABLE_NUMBER_KEYS,
  INAPPLICABLE_STRING_KEYS,
  NUMBER_KEYS,
  STRING_KEYS,
  filterCriteria,
  type FilterCriteria,
} from "./shapes.js";
import { decodePageToken, encodePageToken } from "./tokens.js";
import { parseRequest } from "./validate.js";

/**
 * Every parser of untrusted input ends in a typed result or a ValidationException, never a
 * crash: JSON bodies, every operation's input (near-valid inputs built from the model's shapes
 * with wrong types, sizes and enum values mixed in), page tokens.
 */

const isValidation = (e: unknown) =>
  e instanceof Inspector2Error &&
  e.code === "ValidationException" &&
  typeof e.message === "string" &&
  Array.isArray(e.extra.fields);

/** A value that is sometimes right and sometimes of the wrong type, size or enum. */
const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constant(""),
  fc.constant("x".repeat(1025)),
  fc.constant([]),
  fc.constant({}),
);
const comparison = fc.oneof(fc.constantFrom("EQUALS", "PREFIX", "NOT_EQUALS"), junk);
const stringFilter = fc.oneof(
  fc.record(
    { comparison, value: fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), junk) },
    { requiredKeys: [] },
  ),
  junk,
);
const num = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), junk);
const dateFilter = fc.oneof(
  fc.record({ startInclusive: num, endInclusive: num }, { requiredKeys: [] }),
  junk,
);
const numberFilter = fc.oneof(
  fc.record({ lowerInclusive: num, upperInclusive: num }, { requiredKeys: [] }),
  junk,
);
const listOf = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.array(a, { minLength: 1, maxLength: 3 }) },
    fc.array(a, { maxLength: 12 }),
    junk,
  );
const packageFilter = fc.oneof(
  fc.record(
    {
      name: stringFilter,
      version: stringFilter,
      epoch: numberFilter,
      release: stringFilter,
      filePath: stringFilter,
    },
    { requiredKeys: [] },
  ),
  junk,
);
const mapFilter = fc.oneof(
  fc.record(
    {
      comparison: fc.oneof(fc.constant("EQUALS"), junk),
      key: fc.oneof(fc.string(), junk),
      value: fc.oneof(fc.string(), junk),
    },
    { requiredKeys: [] },
  ),
  junk,
);
const criteria: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(
      fc.subarray([...STRING_KEYS, ...INAPPLICABLE_STRING_KEYS], { maxLength: 4 }),
      fc.subarray([...DATE_KEYS, ...INAPPLICABLE_DATE_KEYS], { maxLength: 2 }),
      fc.subarray([...NUMBER_KEYS, ...INAPPLICABLE_NUMBER_KEYS], { maxLength: 2 }),
      fc.array(listOf(stringFilter), { minLength: 4, maxLength: 4 }),
      fc.array(listOf(dateFilter), { minLength: 2, maxLength: 2 }),
      fc.array(listOf(numberFilter), { minLength: 2, maxLength: 2 }),
      fc.option(listOf(packageFilter), { nil: undefined }),
      fc.option(listOf(mapFilter), { nil: undefined }),
    )
    .map(([sk, dk, nk, sv, dv, nv, pk, mp]) => ({
      ...Object.fromEntries(sk.map((k, i) => [k, sv[i]])),
      ...Object.fromEntries(dk.map((k, i) => [k, dv[i]])),
      ...Object.fromEntries(nk.map((k, i) => [k, nv[i]])),
      ...(pk === undefined ? {} : { vulnerablePackages: pk }),
      ...(mp === undefined ? {} : { resourceTags: mp }),
      unknownMember: 1,
    })),
  junk,
);

/** Checks a parsed FilterCriteria against the model's constraints. */
function checkCriteria(c: FilterCriteria): void {
  for (const [k, v] of Object.entries(c)) {
    expect(Array.isArray(v), k).toBe(true);
    const list = v as unknown[];
    expect(list.length).toBeGreaterThanOrEqual(1);
    expect(list.length).toBeLessThanOrEqual(10);
    for (const f of list as Record<string, unknown>[]) {
      if ("comparison" in f && k !== "resourceTags") {
        expect(["EQUALS", "PREFIX", "NOT_EQUALS"]).toContain(f.comparison);
        expect(typeof f.value).toBe("string");
        expect((f.value as string).length).toBeGreaterThanOrEqual(1);
        expect((f.value as string).length).toBeLessThanOrEqual(1024);
      }
      for (const bound of ["startInclusive", "endInclusive", "lowerInclusive", "upperInclusive"])
        if (bound in f) expect(Number.isFinite(f[bound])).toBe(true);
    }
  }
  expect(c).not.toHaveProperty("unknownMember");
}

describe("parsers of untrusted input", () => {
  it("FilterCriteria: typed and within the model's constraints, or a ValidationException", () => {
    fc.assert(
      fc.property(criteria, (input) => {
        try {
          checkCriteria(parseRequest(filterCriteria, input));
        } catch (e) {
          if (!isValidation(e)) throw e;
          for (const f of (e as Inspector2Error).extra.fields as { name: string; message: string }[]) {
            expect(f.name).not.toBe("");
            expect(f.message).toMatch(/^Member /);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("every operation's input: the backend is reached with a typed request, or a ValidationException", async () => {
    const reached = new Error("reached the backend");
    const backend = new Proxy({} as Inspector2Backend, {
      get: () => async () => {
        throw reached;
      },
    });
    const ops = inspector2Operations(backend, { accountId: "123456789012", region: "us-east-1" });
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          maxResults: num,
          nextToken: fc.oneof(fc.string(), junk),
          filterCriteria: criteria,
          sortCriteria: fc.oneof(
            fc.record({
              field: fc.oneof(fc.constant("SEVERITY"), junk),
              sortOrder: fc.oneof(fc.constant("ASC"), junk),
            }),
            junk,
          ),
          aggregationType: fc.oneof(fc.constantFrom("REPOSITORY", "AWS_ECR_CONTAINER", "AMI", "TITLE"), junk),
          aggregationRequest: fc.oneof(
            fc.record(
              { repositoryAggregation: fc.oneof(fc.record({ repositories: listOf(stringFilter) }), junk) },
              { requiredKeys: [] },
            ),
            junk,
          ),
          findingArns: listOf(
            fc.oneof(
              fc.constant(`arn:aws:inspector2:us-east-1:123456789012:finding/${"a".repeat(32)}`),
              junk,
            ),
          ),
          name: fc.oneof(fc.string({ maxLength: 130 }), junk),
          action: fc.oneof(fc.constantFrom("NONE", "SUPPRESS"), junk),
          arn: fc.oneof(fc.string({ minLength: 1 }), junk),
          filterArn: fc.oneof(fc.string({ minLength: 1 }), junk),
          reportFormat: fc.oneof(fc.constantFrom("CSV", "JSON", "SPDX_2_3"), junk),
          s3Destination: fc.oneof(
            fc.record({ bucketName: fc.oneof(fc.string(), junk), kmsKeyArn: fc.oneof(fc.string(), junk) }),
            junk,
          ),
          reportId: fc.oneof(fc.uuid(), junk),
          ecrConfiguration: fc.oneof(
            fc.record({ rescanDuration: fc.oneof(fc.constantFrom("LIFETIME", "DAYS_30"), junk) }),
            junk,
          ),
          resourceTypes: listOf(fc.oneof(fc.constantFrom("ECR", "EC2"), junk)),
          accountIds: listOf(fc.oneof(fc.constant("123456789012"), junk)),
          resourceArn: fc.oneof(fc.string({ minLength: 1 }), junk),
          tags: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), junk)), junk),
          tagKeys: listOf(fc.oneof(fc.constantFrom("owner", "aws:x"), junk)),
          groupBy: fc.oneof(fc.constantFrom("RESOURCE_TYPE", "ECR_REPOSITORY_NAME"), junk),
        },
        { requiredKeys: [] },
      ),
    );
    const principal = AwsPrincipal.unrestricted("123456789012");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(ops)), body, async (name, input) => {
        try {
          await ops[name]!(input as Record<string, unknown>, { principal });
        } catch (e) {
          if (e !== reached && !isValidation(e)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("request bodies: a JSON object, or ValidationException CANNOT_PARSE", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.uint8Array().map((b) => Buffer.from(b).toString("latin1")),
        ),
        (s) => {
          try {
            const v = parseJsonObject(Buffer.from(s, "utf8"));
            expect(typeof v === "object" && v !== null && !Array.isArray(v)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(Inspector2Error);
            expect((e as Inspector2Error).extra.reason).toBe("CANNOT_PARSE");
          }
        },
      ),
    );
  });

  it("page tokens: the position, or a ValidationException naming nextToken", () => {
    const isNum = (p: unknown): p is number => typeof p === "number";
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.integer().map((n) => encodePageToken("other", n)),
        ),
        (t) => {
          try {
            const v = decodePageToken("mine", t, isNum);
            expect(v === undefined || typeof v === "number").toBe(true);
          } catch (e) {
            expect(isValidation(e)).toBe(true);
            expect((e as Inspector2Error).extra.fields).toEqual([
              { name: "nextToken", message: expect.any(String) },
            ]);
          }
        },
      ),
    );
    expect(decodePageToken("mine", encodePageToken("mine", 7), isNum)).toBe(7);
  });
});
