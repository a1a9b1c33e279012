import { CronSyntaxError, cronMatches, nextCronTime, parseCronFields, type CronFields } from "./cron.js";

/**
 * A rule's `ScheduleExpression` (eb-scheduled-rule-pattern): `rate(value unit)` or
 * `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, in UTC, at most one firing a minute.
 */

/** AWS's ValidationException text for any malformed expression (one text for every case). */
export const SCHEDULE_EXPRESSION_INVALID = "Parameter ScheduleExpression is not valid.";
/** PutRule with a ScheduleExpression on a bus other than `default` (AWS's ValidationException). */
export const SCHEDULE_ONLY_ON_DEFAULT_BUS = "ScheduleExpression is supported only on the default event bus.";

export class ScheduleExpressionError extends Error {
  constructor(
    /** Why, for logs and tests; the API answers with `message` only, as AWS. */
    readonly reason: string,
  ) {
    super(SCHEDULE_EXPRESSION_INVALID);
    this.name = "ScheduleExpressionError";
  }
}

export type RateUnit = "minute" | "hour" | "day";

export type Schedule =
  | { kind: "rate"; expression: string; value: number; unit: RateUnit; periodMs: number }
  | { kind: "cron"; expression: string; fields: CronFields };

const UNIT_MS: Record<RateUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** The model's limit on ScheduleExpression. */
const MAX_LENGTH = 256;

/**
 * Parses a ScheduleExpression as AWS does. `rate(...)`: a positive integer and a lower-case unit,
 * singular for 1 (`rate(1 hour)`) and plural otherwise (`rate(5 hours)`), one space between, no
 * other spaces (AWS refuses `rate( 10 minutes )`, `rate(1 hours)`, `rate(10 MINUTES)`,
 * `rate(0 minutes)`). `cron(...)`: see cron.ts.
 */
export function parseScheduleExpression(s: unknown): Schedule {
  if (typeof s !== "string") throw new ScheduleExpressionError("not a string");
  if (s.length > MAX_LENGTH) throw new ScheduleExpressionError(`longer than ${MAX_LENGTH}`);
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(s);
  if (rate) {
    const value = Number(rate[1]);
    const word = rate[2]!;
    const plural = word.endsWith("s");
    if (!Number.isSafeInteger(value) || value < 1) throw new ScheduleExpressionError("rate must be positive");
    if (plural !== (value !== 1))
      throw new ScheduleExpressionError("unit must be singular for 1 and plural otherwise");
    const unit = (plural ? word.slice(0, -1) : word) as RateUnit;
    return { kind: "rate", expression: s, value, unit, periodMs: value * UNIT_MS[unit] };
  }
  const cron = /^cron\((.*)\)$/.exec(s);
  if (cron) {
    try {
      return { kind: "cron", expression: s, fields: parseCronFields(cron[1]!) };
    } catch (e) {
      if (e instanceof CronSyntaxError) throw new ScheduleExpressionError(e.message);
      throw e;
    }
  }
  throw new ScheduleExpressionError("neither rate(...) nor cron(...)");
}

const MINUTE = 60_000;

/**
 * The first firing strictly after `afterMs` (epoch ms), or undefined when the schedule never
 * fires again (a cron whose years are past, or whose days never occur).
 *
 * A rate fires every period from its anchor: the rule's creation time, floored to the minute
 * (EventBridge fires at whole minutes), at anchor + k x period for k >= 1. A cron fires at the
 * minutes it matches (UTC); the anchor does not apply.
 */
export function nextFireTime(s: Schedule, afterMs: number, anchorMs: number): number | undefined {
  if (!Number.isFinite(afterMs)) return undefined;
  if (s.kind === "cron") return nextCronTime(s.fields, afterMs);
  const anchor = Math.floor(anchorMs / MINUTE) * MINUTE;
  if (afterMs < anchor + s.periodMs) return anchor + s.periodMs;
  return anchor + (Math.floor((afterMs - anchor) / s.periodMs) + 1) * s.periodMs;
}

/** Whether `ms` is a firing of the schedule (for rates, counted from `anchorMs` as nextFireTime). */
export function isFireTime(s: Schedule, ms: number, anchorMs: number): boolean {
  if (ms % MINUTE !== 0) return false;
  if (s.kind === "cron") return cronMatches(s.fields, ms);
  const anchor = Math.floor(anchorMs / MINUTE) * MINUTE;
  return ms > anchor && (ms - anchor) % s.periodMs === 0;
}
