import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  SCHEDULE_EXPRESSION_INVALID,
  ScheduleExpressionError,
  isFireTime,
  nextFireTime,
  parseScheduleExpression,
  type Schedule,
} from "./expression.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function invalid(s: unknown): string {
  try {
    parseScheduleExpression(s);
  } catch (e) {
    expect(e).toBeInstanceOf(ScheduleExpressionError);
    expect((e as Error).message).toBe(SCHEDULE_EXPRESSION_INVALID);
    return (e as ScheduleExpressionError).reason;
  }
  throw new Error(`${String(s)} was accepted`);
}

/** The firings after `from`, in order. */
function firings(expr: string, from: string, n: number, anchor = at(from)): (string | undefined)[] {
  const s = parseScheduleExpression(expr);
  const out: (string | undefined)[] = [];
  let t: number | undefined = at(from);
  for (let i = 0; i < n && t !== undefined; i++) {
    t = nextFireTime(s, t, anchor);
    out.push(iso(t));
  }
  return out;
}

describe("rate expressions", () => {
  it("accepts singular for 1 and plural otherwise", () => {
    expect(parseScheduleExpression("rate(1 minute)")).toMatchObject({ kind: "rate", periodMs: 60_000 });
    expect(parseScheduleExpression("rate(5 minutes)")).toMatchObject({ value: 5, unit: "minute" });
    expect(parseScheduleExpression("rate(1 hour)")).toMatchObject({ periodMs: 3_600_000 });
    expect(parseScheduleExpression("rate(2 days)")).toMatchObject({ periodMs: 2 * 86_400_000 });
  });

  // The expressions localstack's aws-validated test_put_rule_with_invalid_schedule_rate sends to
  // AWS, which answers each with ValidationException "Parameter ScheduleExpression is not valid.".
  it.each([
    "rate(10 seconds)",
    "rate(10 years)",
    "rate(1 minutes)",
    "rate(1 hours)",
    "rate(1 days)",
    "rate(10 minute)",
    "rate(10 hour)",
    "rate(10 day)",
    "rate()",
    "rate(10)",
    "rate(10 minutess)",
    "rate(foo minutes)",
    "rate(0 minutes)",
    "rate(-10 minutes)",
    "rate(10 MINUTES)",
    "rate( 10 minutes )",
    " rate(10 minutes)",
  ])("refuses %j as AWS does", (s) => {
    invalid(s);
  });

  it("refuses what is not a string, empty, unknown forms and too long", () => {
    invalid(undefined);
    invalid(5);
    invalid("");
    invalid("at(2026-01-01T00:00:00)");
    invalid("RATE(1 minute)");
    invalid(`rate(${"1".repeat(300)} minutes)`);
  });

  it("fires every period from the anchor floored to the minute, strictly after", () => {
    const anchor = at("2026-03-01T10:00:42Z");
    const s = parseScheduleExpression("rate(5 minutes)");
    expect(iso(nextFireTime(s, anchor, anchor))).toBe("2026-03-01T10:05:00.000Z");
    expect(iso(nextFireTime(s, at("2026-03-01T10:05:00Z"), anchor))).toBe("2026-03-01T10:10:00.000Z");
    expect(iso(nextFireTime(s, at("2026-03-01T10:04:59.999Z"), anchor))).toBe("2026-03-01T10:05:00.000Z");
    expect(iso(nextFireTime(s, at("2026-02-01T00:00:00Z"), anchor))).toBe("2026-03-01T10:05:00.000Z");
    expect(firings("rate(1 day)", "2024-02-28T12:00:00Z", 3)).toEqual([
      "2024-02-29T12:00:00.000Z",
      "2024-03-01T12:00:00.000Z",
      "2024-03-02T12:00:00.000Z",
    ]);
    expect(isFireTime(s, at("2026-03-01T10:15:00Z"), anchor)).toBe(true);
    expect(isFireTime(s, at("2026-03-01T10:16:00Z"), anchor)).toBe(false);
    expect(isFireTime(s, anchor - 42_000, anchor)).toBe(false);
  });
});

describe("cron expressions", () => {
  // The examples of eb-scheduled-rule-pattern ("Cron expressions" table), also in localstack's
  // aws-validated tests_put_rule_with_schedule_cron.
  it.each([
    ["cron(0 10 * * ? *)", "2026-03-04T09:00:00Z", ["2026-03-04T10:00:00.000Z", "2026-03-05T10:00:00.000Z"]],
    ["cron(15 12 * * ? *)", "2026-03-04T12:15:00Z", ["2026-03-05T12:15:00.000Z", "2026-03-06T12:15:00.000Z"]],
    // 2026-03-06 is a Friday: the next are Monday's and Tuesday's
    [
      "cron(0 18 ? * MON-FRI *)",
      "2026-03-06T18:00:00Z",
      ["2026-03-09T18:00:00.000Z", "2026-03-10T18:00:00.000Z"],
    ],
    ["cron(0 8 1 * ? *)", "2026-01-15T00:00:00Z", ["2026-02-01T08:00:00.000Z", "2026-03-01T08:00:00.000Z"]],
    [
      "cron(0/15 * * * ? *)",
      "2026-03-04T23:40:00Z",
      ["2026-03-04T23:45:00.000Z", "2026-03-05T00:00:00.000Z"],
    ],
    [
      "cron(0/10 * ? * MON-FRI *)",
      "2026-03-06T23:55:00Z",
      ["2026-03-09T00:00:00.000Z", "2026-03-09T00:10:00.000Z"],
    ],
    [
      "cron(0/5 8-17 ? * MON-FRI *)",
      "2026-03-06T17:55:00Z",
      ["2026-03-09T08:00:00.000Z", "2026-03-09T08:05:00.000Z"],
    ],
    [
      "cron(0/30 20-23 ? * MON-FRI *)",
      "2026-03-06T23:30:00Z",
      ["2026-03-09T20:00:00.000Z", "2026-03-09T20:30:00.000Z"],
    ],
    [
      "cron(0/30 0-2 ? * MON-FRI *)",
      "2026-03-06T02:30:00Z",
      ["2026-03-09T00:00:00.000Z", "2026-03-09T00:30:00.000Z"],
    ],
  ])("%s after %s", (expr, from, expected) => {
    expect(firings(expr, from, 2)).toEqual(expected);
  });

  it("needs ? in exactly one of day-of-month and day-of-week", () => {
    expect(invalid("cron(0 10 * * * *)")).toMatch(/exactly one/);
    expect(invalid("cron(0 10 ? * ? *)")).toMatch(/exactly one/);
    expect(invalid("cron(0 10 1 * MON *)")).toMatch(/exactly one/);
    parseScheduleExpression("cron(0 10 ? * MON *)");
    parseScheduleExpression("cron(0 10 1 * ? *)");
  });

  it.each([
    "cron(0 10 * * ?)", // five fields
    "cron(0 0 10 * * ? *)", // seven: no seconds field
    "cron(60 10 * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 10 0 * ? *)",
    "cron(0 10 32 * ? *)",
    "cron(0 10 * 13 ? *)",
    "cron(0 10 ? * 8 *)",
    "cron(0 10 ? * 0 *)",
    "cron(0 10 * * ? 1969)",
    "cron(0 10 * * ? 2200)",
    "cron(0 10 * * ? 2030-2026)", // years do not wrap
    "cron(0/0 10 * * ? *)",
    "cron(0/61 10 * * ? *)",
    "cron(0 10 * FOO ? *)",
    "cron(0 10 ? * MON#6 *)",
    "cron(0 10 ? * MON#0 *)",
    "cron(0 10 3#2 * ? *)", // # outside day-of-week
    "cron(0 10 ? * 3W *)", // W outside day-of-month
    "cron(0 10 L * L *)",
    "cron(0 ? * * ? *)",
    "cron(0 10 * * ? *) ",
    "cron( 0 10 * * ? *)",
    "cron(0 10 * * ? *",
    "cron(0,,5 10 * * ? *)",
    "cron(0-5-7 10 * * ? *)",
    "cron(0/5/5 10 * * ? *)",
    "cron(- 10 * * ? *)",
  ])("refuses %j", (s) => {
    invalid(s);
  });

  it("names any case, lists, ranges and wrapping ranges", () => {
    expect(firings("cron(30 9 ? jan,Jul sun *)", "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-01-04T09:30:00.000Z",
      "2026-01-11T09:30:00.000Z",
    ]);
    // FRI-MON wraps: Friday, Saturday, Sunday, Monday (2026-03-05 is a Thursday)
    expect(firings("cron(0 12 ? * FRI-MON *)", "2026-03-05T00:00:00Z", 5)).toEqual([
      "2026-03-06T12:00:00.000Z",
      "2026-03-07T12:00:00.000Z",
      "2026-03-08T12:00:00.000Z",
      "2026-03-09T12:00:00.000Z",
      "2026-03-13T12:00:00.000Z",
    ]);
    expect(firings("cron(0 22-1 * * ? *)", "2026-03-05T21:00:00Z", 5)).toEqual([
      "2026-03-05T22:00:00.000Z",
      "2026-03-05T23:00:00.000Z",
      "2026-03-06T00:00:00.000Z",
      "2026-03-06T01:00:00.000Z",
      "2026-03-06T22:00:00.000Z",
    ]);
    // 1-7 = SUN-SAT: 2 is Monday
    expect(firings("cron(0 0 ? * 2 *)", "2026-03-04T00:00:00Z", 1)).toEqual(["2026-03-09T00:00:00.000Z"]);
    expect(firings("cron(5,10-12,50/5 3 * * ? *)", "2026-03-04T00:00:00Z", 7)).toEqual(
      ["05", "10", "11", "12", "50", "55"]
        .map((m) => `2026-03-04T03:${m}:00.000Z`)
        .concat("2026-03-05T03:05:00.000Z"),
    );
  });

  it("L in day-of-month is the last day, leap years included", () => {
    expect(firings("cron(0 0 L * ? *)", "2024-01-31T00:00:00Z", 4)).toEqual([
      "2024-02-29T00:00:00.000Z",
      "2024-03-31T00:00:00.000Z",
      "2024-04-30T00:00:00.000Z",
      "2024-05-31T00:00:00.000Z",
    ]);
    expect(firings("cron(0 0 L 2 ? *)", "2099-03-01T00:00:00Z", 2)).toEqual([
      "2100-02-28T00:00:00.000Z", // 2100 is not a leap year
      "2101-02-28T00:00:00.000Z",
    ]);
    expect(firings("cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", 2)).toEqual([
      "2028-02-29T00:00:00.000Z",
      "2032-02-29T00:00:00.000Z",
    ]);
    // 2000 is a leap year (divisible by 400)
    expect(firings("cron(0 0 29 2 ? 1999-2001)", "1999-01-01T00:00:00Z", 2)).toEqual([
      "2000-02-29T00:00:00.000Z",
      undefined,
    ]);
  });

  it("W is the weekday nearest the day, within the month; LW the last weekday", () => {
    // 2026-08-01 is a Saturday: 1W is Monday the 3rd (not July 31st)
    expect(firings("cron(0 9 1W 8 ? 2026)", "2026-01-01T00:00:00Z", 1)).toEqual(["2026-08-03T09:00:00.000Z"]);
    // 2026-03-15 is a Sunday: 15W is Monday the 16th; 2026-08-15 a Saturday: Friday the 14th
    expect(firings("cron(0 9 15W * ? 2026)", "2026-03-01T00:00:00Z", 1)).toEqual([
      "2026-03-16T09:00:00.000Z",
    ]);
    expect(firings("cron(0 9 15W 8 ? 2026)", "2026-03-01T00:00:00Z", 1)).toEqual([
      "2026-08-14T09:00:00.000Z",
    ]);
    // 2026-05-31 is a Sunday: 31W is Friday the 29th; 2026-02 has no 31st: no firing
    expect(firings("cron(0 9 31W 5 ? 2026)", "2026-01-01T00:00:00Z", 1)).toEqual([
      "2026-05-29T09:00:00.000Z",
    ]);
    expect(firings("cron(0 9 31W 2 ? 2026)", "2026-01-01T00:00:00Z", 1)).toEqual([undefined]);
    // 2026-01-31 is a Saturday: LW is Friday the 30th; 2026-05-31 a Sunday: Friday the 29th
    expect(firings("cron(0 9 LW * ? 2026)", "2026-01-01T00:00:00Z", 5)).toEqual([
      "2026-01-30T09:00:00.000Z",
      "2026-02-27T09:00:00.000Z",
      "2026-03-31T09:00:00.000Z",
      "2026-04-30T09:00:00.000Z",
      "2026-05-29T09:00:00.000Z",
    ]);
  });

  it("# is the n-th weekday of the month, nL the last, L alone Saturday", () => {
    // 3#2: the second Tuesday (eb-scheduled-rule-pattern's example)
    expect(firings("cron(0 9 ? * 3#2 *)", "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-13T09:00:00.000Z",
      "2026-02-10T09:00:00.000Z",
      "2026-03-10T09:00:00.000Z",
    ]);
    // the fifth Friday exists only in some months
    expect(firings("cron(0 9 ? * FRI#5 *)", "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-30T09:00:00.000Z",
      "2026-05-29T09:00:00.000Z",
      "2026-07-31T09:00:00.000Z",
    ]);
    expect(firings("cron(0 9 ? * 6L *)", "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-01-30T09:00:00.000Z",
      "2026-02-27T09:00:00.000Z",
    ]);
    expect(firings("cron(0 9 ? * L *)", "2026-03-05T00:00:00Z", 2)).toEqual([
      "2026-03-07T09:00:00.000Z",
      "2026-03-14T09:00:00.000Z",
    ]);
  });

  it("a schedule that never fires again gives undefined", () => {
    expect(firings("cron(0 0 * * ? 2020)", "2026-01-01T00:00:00Z", 1)).toEqual([undefined]);
    expect(firings("cron(0 0 30 2 ? *)", "2026-01-01T00:00:00Z", 1)).toEqual([undefined]);
    expect(firings("cron(59 23 31 12 ? 2199)", "2199-12-31T23:58:00Z", 2)).toEqual([
      "2199-12-31T23:59:00.000Z",
      undefined,
    ]);
  });

  it("years, lists of years and year increments", () => {
    expect(firings("cron(0 0 1 1 ? 2030,2040/5)", "2026-01-01T00:00:00Z", 3)).toEqual([
      "2030-01-01T00:00:00.000Z",
      "2040-01-01T00:00:00.000Z",
      "2045-01-01T00:00:00.000Z",
    ]);
  });
});

describe("properties", () => {
  /** Mostly valid items of a field, sometimes junk or the other fields' specials. */
  const field = (min: number, max: number, names: string[] = []) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom("*", ...names) },
      { weight: 4, arbitrary: fc.integer({ min, max }).map(String) },
      {
        weight: 3,
        arbitrary: fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${a}-${b}`),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.constantFrom("*", String(min), String(max)), fc.integer({ min: 1, max: 30 }))
          .map(([a, b]) => `${a}/${b}`),
      },
      {
        weight: 2,
        arbitrary: fc.oneof(
          fc.constantFrom("L", "LW", "W", "#", "/", "-", "", "?"),
          fc.integer({ min: min - 2, max: max + 2 }).map(String),
          fc
            .tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 6 }))
            .map(([a, b]) => `${a}#${b}`),
          fc.integer({ min: 0, max: 32 }).map((d) => `${d}W`),
          fc.integer({ min: 0, max: 8 }).map((d) => `${d}L`),
        ),
      },
    );
  const cronText = fc
    .tuple(
      fc.array(field(0, 59), { minLength: 1, maxLength: 3 }),
      fc.array(field(0, 23), { minLength: 1, maxLength: 3 }),
      fc.array(field(1, 31), { minLength: 1, maxLength: 3 }),
      fc.array(field(1, 12, ["JAN", "dec"]), { minLength: 1, maxLength: 3 }),
      fc.array(field(1, 7, ["MON", "sat"]), { minLength: 1, maxLength: 3 }),
      fc.array(field(1970, 2199), { minLength: 1, maxLength: 2 }),
      fc.constantFrom("dom", "dow", "neither"),
    )
    .map(([mi, h, dom, mo, dow, y, which]) => {
      // mostly one day field `?`, as valid expressions have
      const fs = [mi, h, which === "dom" ? ["?"] : dom, mo, which === "dow" ? ["?"] : dow, y];
      return `cron(${fs.map((f) => f.join(",")).join(" ")})`;
    });
  const text = fc.oneof(
    cronText,
    fc.string(),
    fc
      .tuple(
        fc.integer({ min: -1, max: 1000 }),
        fc.constantFrom("minute", "minutes", "hour", "hours", "days"),
      )
      .map(([n, u]) => `rate(${n} ${u})`),
  );
  const time = fc.integer({ min: Date.UTC(1960, 0, 1), max: Date.UTC(2250, 0, 1) });

  it("parse throws only ScheduleExpressionError", () => {
    fc.assert(
      fc.property(text, (s) => {
        try {
          parseScheduleExpression(s);
        } catch (e) {
          expect(e).toBeInstanceOf(ScheduleExpressionError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("the next firing is after the time given, is a firing, and none is skipped before it", () => {
    let parsed = 0;
    let crons = 0;
    fc.assert(
      fc.property(text, time, time, (s, after, anchor) => {
        let schedule: Schedule;
        try {
          schedule = parseScheduleExpression(s);
        } catch {
          return;
        }
        parsed++;
        if (schedule.kind === "cron") crons++;
        const next = nextFireTime(schedule, after, anchor);
        if (next === undefined) return;
        expect(next).toBeGreaterThan(after);
        expect(isFireTime(schedule, next, anchor)).toBe(true);
        // no firing between: the minutes just after `after` (a bounded look) are not firings
        for (
          let t = Math.floor(after / 60_000) * 60_000 + 60_000;
          t < next && t < after + 3 * 3_600_000;
          t += 60_000
        )
          expect(isFireTime(schedule, t, anchor)).toBe(false);
      }),
      { numRuns: 1500 },
    );
    expect(parsed).toBeGreaterThan(50);
    expect(crons).toBeGreaterThan(20);
  });
});
