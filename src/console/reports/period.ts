import { DAY_MS, utcDay, weekStart, WEEK_MS } from "../../storage/meta/history-store.js";

/**
 * Which scheduled report is due (config `console.reports`): a daily report covers the previous
 * UTC day and is due from `hourUtc` of the day after; a weekly one covers the previous ISO week
 * (Monday to Sunday) and is due from `hourUtc` of its Monday until the week ends, so that a
 * cluster that was down on Monday still writes it on Tuesday. The period names the report
 * (`daily:YYYY-MM-DD`, `weekly:YYYY-MM-DD` of the Monday it is written): one per period.
 */

export type Schedule = "off" | "daily" | "weekly";

export interface DuePeriod {
  period: string;
  /** The range reported, epoch ms [from, to). */
  from: number;
  to: number;
}

export function duePeriod(schedule: Schedule, hourUtc: number, now: number): DuePeriod | null {
  if (schedule === "off") return null;
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  if (schedule === "daily") {
    if (now < today + hourUtc * 3_600_000) return null;
    return { period: `daily:${utcDay(today)}`, from: today - DAY_MS, to: today };
  }
  const monday = weekStart(now);
  if (now < monday + hourUtc * 3_600_000) return null;
  return { period: `weekly:${utcDay(monday)}`, from: monday - WEEK_MS, to: monday };
}
