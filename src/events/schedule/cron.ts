/**
 * EventBridge's six-field cron (`cron(Minutes Hours Day-of-month Month Day-of-week Year)`, UTC,
 * eb-scheduled-rule-pattern): the fields parsed into sets and day rules, and the search for the
 * next minute they match. Pure; no clock.
 *
 * Per field: `*`, a value, `a-b` (wrapping around for the cyclic fields: `FRI-MON`, `22-2`),
 * `a/n` or `a-b/n` or `* /n` (every n from a), lists of those with `,`. Names JAN-DEC and
 * SUN-SAT (any case). Day-of-week 1-7 = SUN-SAT. Day-of-month also `L` (last day), `LW` (last
 * weekday), `nW` (the weekday nearest day n, within the month); day-of-week also `L` (Saturday,
 * the last day of the week), `nL` (the last weekday n of the month), `n#k` (the k-th weekday n of
 * the month). `?` in exactly one of day-of-month and day-of-week (AWS refuses both values and
 * both `?`). Years 1970-2199, as documented.
 */

export class CronSyntaxError extends Error {}

/** A day-of-month item beyond plain days. */
type DomRule = { kind: "last" } | { kind: "lastWeekday" } | { kind: "nearestWeekday"; day: number };
/** A day-of-week item beyond plain days (dow 1-7 = SUN-SAT). */
type DowRule = { kind: "lastOfMonth"; dow: number } | { kind: "nth"; dow: number; n: number };

export interface CronFields {
  minutes: boolean[];
  hours: boolean[];
  /** undefined: `?` (days chosen by day-of-week). */
  daysOfMonth?: { days: boolean[]; rules: DomRule[] };
  months: boolean[];
  /** undefined: `?` (days chosen by day-of-month). */
  daysOfWeek?: { days: boolean[]; rules: DowRule[] };
  years: boolean[];
}

export const MIN_YEAR = 1970;
export const MAX_YEAR = 2199;

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names for min, min+1, ... */
  names?: string[];
  /** Whether a descending range wraps around (cyclic fields). */
  cyclic: boolean;
}

const MINUTES: FieldSpec = { name: "minutes", min: 0, max: 59, cyclic: true };
const HOURS: FieldSpec = { name: "hours", min: 0, max: 23, cyclic: true };
const DOM: FieldSpec = { name: "day-of-month", min: 1, max: 31, cyclic: true };
const MONTH: FieldSpec = { name: "month", min: 1, max: 12, names: MONTHS, cyclic: true };
const DOW: FieldSpec = { name: "day-of-week", min: 1, max: 7, names: DAYS, cyclic: true };
const YEAR: FieldSpec = { name: "year", min: MIN_YEAR, max: MAX_YEAR, cyclic: false };

function value(text: string, f: FieldSpec): number {
  if (/^\d{1,4}$/.test(text)) {
    const n = Number(text);
    if (n < f.min || n > f.max) throw new CronSyntaxError(`${f.name}: ${text} is out of range`);
    return n;
  }
  const i = f.names?.indexOf(text.toUpperCase()) ?? -1;
  if (i < 0) throw new CronSyntaxError(`${f.name}: ${text} is not a value`);
  return f.min + i;
}

/** Plain items (`*`, values, ranges, increments) into `set`. */
function plainItem(item: string, f: FieldSpec, set: boolean[]): void {
  const slash = item.split("/");
  if (slash.length > 2) throw new CronSyntaxError(`${f.name}: ${item}`);
  const [range, stepText] = slash as [string, string | undefined];
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d{1,4}$/.test(stepText)) throw new CronSyntaxError(`${f.name}: bad increment ${item}`);
    step = Number(stepText);
    if (step < 1 || step > f.max - f.min + 1) throw new CronSyntaxError(`${f.name}: bad increment ${item}`);
  }
  let from: number;
  let to: number;
  if (range === "*") {
    from = f.min;
    to = f.max;
  } else {
    const dash = range.split("-");
    if (dash.length > 2 || dash.some((d) => d === "")) throw new CronSyntaxError(`${f.name}: ${item}`);
    from = value(dash[0]!, f);
    to = dash.length === 2 ? value(dash[1]!, f) : stepText !== undefined ? f.max : from;
  }
  const span = f.max - f.min + 1;
  let count: number;
  if (from <= to) count = to - from + 1;
  else if (f.cyclic) count = to - f.min + 1 + (f.max - from + 1);
  else throw new CronSyntaxError(`${f.name}: descending range ${item}`);
  for (let k = 0; k < count; k += step) set[f.min + ((from - f.min + k) % span)] = true;
}

function field(text: string, f: FieldSpec): boolean[] {
  const set = new Array<boolean>(f.max + 1).fill(false);
  for (const item of text.split(",")) plainItem(item, f, set);
  return set;
}

function daysOfMonth(text: string): CronFields["daysOfMonth"] {
  const days = new Array<boolean>(32).fill(false);
  const rules: DomRule[] = [];
  for (const item of text.split(",")) {
    const up = item.toUpperCase();
    if (up === "L") rules.push({ kind: "last" });
    else if (up === "LW") rules.push({ kind: "lastWeekday" });
    else if (/^\d{1,2}W$/.test(up)) rules.push({ kind: "nearestWeekday", day: value(up.slice(0, -1), DOM) });
    else plainItem(item, DOM, days);
  }
  return { days, rules };
}

function daysOfWeek(text: string): CronFields["daysOfWeek"] {
  const days = new Array<boolean>(8).fill(false);
  const rules: DowRule[] = [];
  for (const item of text.split(",")) {
    const up = item.toUpperCase();
    const nth = /^([A-Z0-9]+)#(\d{1,2})$/.exec(up);
    const last = /^([A-Z0-9]+)L$/.exec(up);
    if (up === "L") days[7] = true;
    else if (nth) {
      const n = Number(nth[2]);
      if (n < 1 || n > 5) throw new CronSyntaxError(`day-of-week: ${item}`);
      rules.push({ kind: "nth", dow: value(nth[1]!, DOW), n });
    } else if (last) rules.push({ kind: "lastOfMonth", dow: value(last[1]!, DOW) });
    else plainItem(item, DOW, days);
  }
  return { days, rules };
}

/** The six fields of a cron expression (between `cron(` and `)`), or CronSyntaxError. */
export function parseCronFields(text: string): CronFields {
  const parts = text.split(/ +/);
  if (parts.length !== 6 || parts.some((p) => p === "")) throw new CronSyntaxError("six fields expected");
  const [mi, h, dom, mo, dow, y] = parts as [string, string, string, string, string, string];
  if ((dom === "?") === (dow === "?")) throw new CronSyntaxError("exactly one of the day fields must be ?");
  return {
    minutes: field(mi, MINUTES),
    hours: field(h, HOURS),
    daysOfMonth: dom === "?" ? undefined : daysOfMonth(dom),
    months: field(mo, MONTH),
    daysOfWeek: dow === "?" ? undefined : daysOfWeek(dow),
    years: field(y, YEAR),
  };
}

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
/** 1-7 = SUN-SAT. */
const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1;

/** The weekday (MON-FRI) nearest `day` without leaving the month (Quartz's and AWS's `nW`). */
function nearestWeekday(y: number, m: number, day: number, last: number): number | undefined {
  if (day > last) return undefined;
  const w = weekday(y, m, day);
  if (w === 7) return day === 1 ? 3 : day - 1; // Saturday: Friday, or Monday the 3rd
  if (w === 1) return day === last ? day - 2 : day + 1; // Sunday: Monday, or Friday before
  return day;
}

export function dayMatches(c: CronFields, y: number, m: number, d: number): boolean {
  if (!c.years[y] || !c.months[m]) return false;
  const last = daysIn(y, m);
  if (d > last) return false;
  if (c.daysOfMonth) {
    const { days, rules } = c.daysOfMonth;
    if (days[d]) return true;
    return rules.some((r) => {
      if (r.kind === "last") return d === last;
      if (r.kind === "lastWeekday") return d === nearestWeekday(y, m, last, last);
      return d === nearestWeekday(y, m, r.day, last);
    });
  }
  const { days, rules } = c.daysOfWeek!;
  const w = weekday(y, m, d);
  if (days[w]) return true;
  return rules.some((r) =>
    r.kind === "lastOfMonth" ? w === r.dow && d + 7 > last : w === r.dow && Math.ceil(d / 7) === r.n,
  );
}

function firstFrom(set: boolean[], from: number): number | undefined {
  for (let i = from; i < set.length; i++) if (set[i]) return i;
  return undefined;
}

const MINUTE = 60_000;

/**
 * The first minute strictly after `afterMs` that the fields match (epoch ms), or undefined when
 * there is none: the search ends at the last year the fields allow, and a `*` year is searched
 * 400 years ahead (the Gregorian calendar repeats every 400 years, so a day rule that matches no
 * day in them, such as `30 FEB`, never will).
 */
export function nextCronTime(c: CronFields, afterMs: number): number | undefined {
  const start = new Date(Math.floor(afterMs / MINUTE) * MINUTE + MINUTE);
  const y0 = start.getUTCFullYear();
  const lastYear = Math.min(c.years.lastIndexOf(true), y0 + 400);
  for (let y = Math.max(y0, MIN_YEAR); y <= lastYear; y++) {
    if (!c.years[y]) continue;
    const sameYear = y === y0;
    for (let m = sameYear ? start.getUTCMonth() + 1 : 1; m <= 12; m++) {
      if (!c.months[m]) continue;
      const sameMonth = sameYear && m === start.getUTCMonth() + 1;
      const last = daysIn(y, m);
      for (let d = sameMonth ? start.getUTCDate() : 1; d <= last; d++) {
        if (!dayMatches(c, y, m, d)) continue;
        const sameDay = sameMonth && d === start.getUTCDate();
        const h0 = sameDay ? start.getUTCHours() : 0;
        for (let h = firstFrom(c.hours, h0); h !== undefined; h = firstFrom(c.hours, h + 1)) {
          const mi = firstFrom(c.minutes, sameDay && h === h0 ? start.getUTCMinutes() : 0);
          if (mi !== undefined) return Date.UTC(y, m - 1, d, h, mi);
        }
      }
    }
  }
  return undefined;
}

/** Whether the minute of `ms` is one the fields match. */
export function cronMatches(c: CronFields, ms: number): boolean {
  const t = new Date(ms);
  return (
    dayMatches(c, t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()) &&
    c.hours[t.getUTCHours()] === true &&
    c.minutes[t.getUTCMinutes()] === true
  );
}
