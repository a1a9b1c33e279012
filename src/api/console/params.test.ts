import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { enumListParam, pageParams } from "./params.js";
import { ConsoleError } from "./router.js";

const opts = { sorts: ["name", "lastPush"] as const, defaultSort: "name" };

describe("pageParams", () => {
  it("gives the defaults, and reads valid values", () => {
    expect(pageParams({}, opts)).toEqual({ limit: 50, offset: 0, sort: "name", order: "asc" });
    expect(pageParams({ limit: "200", offset: "400", sort: "lastPush", order: "desc" }, opts)).toEqual({
      limit: 200,
      offset: 400,
      sort: "lastPush",
      order: "desc",
    });
  });

  it.each([
    [{ limit: "0" }, "limit: between 1 and 200 (got 0)"],
    [{ limit: "1e3" }, 'limit: an integer (got "1e3")'],
    [{ offset: "-1" }, "offset: between 0 and 100000 (got -1)"],
    [{ sort: "size" }, 'sort: one of name, lastPush (got "size")'],
    [{ order: "up" }, 'order: one of asc, desc (got "up")'],
  ])("refuses %j with a 400 naming the parameter", (q, message) => {
    expect(() => pageParams(q, opts)).toThrow(new ConsoleError(400, "BadParameter", message));
  });

  it("ends in a page or a 400 for any query", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom("limit", "offset", "sort", "order", "x"),
          fc.oneof(fc.string(), fc.array(fc.string())),
        ),
        (q) => {
          try {
            const p = pageParams(q as Record<string, string>, opts);
            expect(p.limit).toBeGreaterThanOrEqual(1);
            expect(p.limit).toBeLessThanOrEqual(200);
            expect(p.offset).toBeGreaterThanOrEqual(0);
            expect(opts.sorts).toContain(p.sort);
          } catch (e) {
            expect(e).toBeInstanceOf(ConsoleError);
            expect((e as ConsoleError).status).toBe(400);
          }
        },
      ),
    );
  });
});

describe("enumListParam", () => {
  it("reads a comma-separated list once each, and names a wrong member", () => {
    expect(enumListParam({ s: "HIGH, CRITICAL,HIGH" }, "s", ["CRITICAL", "HIGH", "LOW"])).toEqual([
      "HIGH",
      "CRITICAL",
    ]);
    expect(() => enumListParam({ s: "HIGH,BAD" }, "s", ["HIGH"])).toThrow(
      's: a comma-separated list of HIGH (got "BAD")',
    );
  });
});
