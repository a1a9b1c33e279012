import { randomUUID } from "node:crypto";
import type { Logger } from "../../core/logger.js";
import type { MetaStore } from "../../storage/meta/store.js";
import type { StoredRule } from "../../storage/meta/bus-store.js";
import { ruleArn } from "../bus-arns.js";
import { isoSeconds, type AwsIdentity, type EventEnvelope } from "../envelope.js";
import { appendRuleEvent } from "../log.js";
import {
  nextFireTime,
  parseScheduleExpression,
  ScheduleExpressionError,
  type Schedule,
} from "./expression.js";

/**
 * Scheduled rules: each run (the caller's Singleton ticks every few seconds under the database
 * lease) fires every enabled rule with a ScheduleExpression whose next firing is due, emitting
 * the `Scheduled Event` to that rule's targets only (appendRuleEvent).
 *
 * - The next firing follows the last one (BusStore.scheduleFiredAt), or the rule's creation
 *   when it never fired: a rate counts its periods from the creation time (floored to the
 *   minute), a cron fires at its matching minutes after it.
 * - A firing is claimed and its event written in one transaction, the claim a compare-and-set on
 *   the last firing time (markScheduleFired): two schedulers (a lease handed over mid-run, two
 *   nodes) cannot both fire it, and a crash fires it on the next run, never half.
 * - Firings missed while no scheduler ran (the server down for an hour) fire once, at the latest
 *   missed time, not once per missed period, so a restart does not flood the targets.
 * - Firings missed before the rule's last change (it was disabled, or had another schedule) do
 *   not fire at all: the mark moves past them without an event, as a disabled rule does not fire
 *   on AWS. A firing due less than 20 seconds (two ticks of the scheduler) before the change still
 *   fires: a tick may simply not have come yet.
 */

export interface ScheduleRunOptions extends AwsIdentity {
  /** The clock (epoch ms), or its reading. */
  now: number | (() => number);
  log?: Logger;
}

const MINUTE = 60_000;
/** How long before a rule's change a firing still counts as due (see above). */
const GRACE_MS = 20_000;

/** Parsed expressions by text (rules change rarely; a run should not parse every rule again). */
const parsed = new Map<string, Schedule | null>();

function scheduleOf(expression: string, log?: Logger): Schedule | undefined {
  let s = parsed.get(expression);
  if (s === undefined) {
    try {
      s = parseScheduleExpression(expression);
    } catch (err) {
      if (!(err instanceof ScheduleExpressionError)) throw err;
      // PutRule validates; a stored expression that does not parse is skipped, not fatal
      log?.warn({ expression, reason: err.reason }, "a scheduled rule's expression does not parse");
      s = null;
    }
    if (parsed.size > 1000) parsed.clear();
    parsed.set(expression, s);
  }
  return s ?? undefined;
}

/**
 * The latest firing at or before `now`, given that `first` (<= now) is one: found by looking
 * back over doubling windows, so a long outage costs a few searches, not one per missed period.
 */
export function latestFiring(s: Schedule, first: number, now: number, anchor: number): number {
  if (s.kind === "rate") {
    const a = Math.floor(anchor / MINUTE) * MINUTE;
    return Math.max(first, a + Math.floor((now - a) / s.periodMs) * s.periodMs);
  }
  for (let window = MINUTE; ; window *= 2) {
    const from = Math.max(now - window, first - 1);
    let t = nextFireTime(s, from, anchor);
    if (t !== undefined && t <= now) {
      // no firing in the later half of the window (the previous, smaller window found none):
      // walk forward through the earlier half
      for (let n = nextFireTime(s, t, anchor); n !== undefined && n <= now; n = nextFireTime(s, n, anchor))
        t = n;
      return t;
    }
    if (from <= first - 1) return first;
  }
}

/** The `Scheduled Event` EventBridge sends when a scheduled rule fires. */
export function scheduledEvent(
  id: AwsIdentity,
  rule: { bus: string; name: string },
  at: number,
): EventEnvelope {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: id.accountId,
    time: isoSeconds(at),
    region: id.region,
    resources: [ruleArn(id, rule.bus, rule.name)],
    detail: {},
  };
}

const enabled = (r: StoredRule) => r.state !== "DISABLED" && r.scheduleExpression !== null;

/** One pass over the scheduled rules; returns how many fired. */
export async function runSchedules(meta: MetaStore, o: ScheduleRunOptions): Promise<number> {
  const now = typeof o.now === "function" ? o.now() : o.now;
  let fired = 0;
  for (const rule of (await meta.bus.allRules()).filter(enabled)) {
    const s = scheduleOf(rule.scheduleExpression!, o.log);
    if (!s) continue;
    const previous = await meta.bus.scheduleFiredAt(rule.bus, rule.name);
    const next = nextFireTime(s, previous ?? rule.createdAt, rule.createdAt);
    if (next === undefined || next > now) continue;
    const at = latestFiring(s, next, now, rule.createdAt);
    const stale = at < rule.updatedAt - GRACE_MS;
    const won = await meta.tx(async (tx) => {
      if (!(await tx.bus.markScheduleFired(rule.bus, rule.name, previous, at))) return false;
      if (!stale) await appendRuleEvent(tx, rule.bus, rule.name, scheduledEvent(o, rule, at));
      return !stale;
    });
    if (won) fired++;
  }
  return fired;
}
