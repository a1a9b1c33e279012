import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openConsoleWorld, type ConsoleWorld } from "./testing.js";

/**
 * The settings views' GET routes under arbitrary query strings (their parameters are untrusted
 * input): each answers 200 or a 400 BadParameter naming what is wrong, never a 500.
 */

let w: ConsoleWorld;
beforeAll(async () => {
  w = await openConsoleWorld({ start: false });
  for (const n of ["team/app", "prod-api", "a_b"]) await w.meta.settings.createRepository(n, {});
});
afterAll(async () => {
  await w.close();
});

const NAMES = [
  "limit",
  "offset",
  "sort",
  "order",
  "q",
  "state",
  "bus",
  "rule",
  "filter",
  "targetId",
  "queue",
  "scanType",
  "rules",
];
const VALUES = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 300 }).map(String),
  fc.constantFrom(
    "asc",
    "desc",
    "name",
    "BASIC",
    "ENHANCED",
    "active",
    "[]",
    "default",
    "0",
    "1",
    "%",
    "a b",
  ),
  fc
    .array(
      fc.record({
        scanFrequency: fc.constantFrom("SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL", "X"),
        filters: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
      }),
      { maxLength: 3 },
    )
    .map((r) => JSON.stringify(r)),
);
const QUERY = fc.dictionary(fc.constantFrom(...NAMES), VALUES, { maxKeys: 5 });

describe("settings views' GET routes under arbitrary parameters", () => {
  it.each([
    "/scanning/preview",
    "/suppression",
    "/events/rules",
    "/events/targets",
    "/events/deliveries",
    "/events/dead-letters",
  ])("%s answers 200 or a clear 400", async (path) => {
    await fc.assert(
      fc.asyncProperty(QUERY, async (q) => {
        const res = await w.call("GET", `${path}?${new URLSearchParams(q).toString()}`);
        expect([200, 400]).toContain(res.statusCode);
        if (res.statusCode === 400) {
          const body = res.json() as { error: { code: string; message: string } };
          expect(body.error.code).toBe("BadParameter");
          expect(body.error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 80 },
    );
  });
});
