import type { Comparison } from "./types.js";

/**
 * Maven version order: a port of maven-artifact's `ComparableVersion` (what
 * `DefaultArtifactVersion.compareTo`, Maven version ranges and OSV's Maven ecosystem use), not
 * Maven Resolver's `GenericVersionScheme`, which differs in corners ("min"/"max" segments,
 * "1-ga-1" vs "1-0-1").
 *
 * A version is a tree of items: numbers, qualifiers ("alpha", "sp", unknown words), qualifier
 * + number combinations ("rc1", "alpha-2") and sub-lists opened by "-" or a digit/letter
 * transition. Trailing null items (0, "", "ga"/"final"/"release") do not count.
 */

const enum T {
  Num,
  Str,
  Combo,
  List,
}

/** Numbers keep their canonical digits (leading zeros stripped): any length compares exactly. */
interface NumItem {
  readonly t: T.Num;
  readonly digits: string;
}
interface StrItem {
  readonly t: T.Str;
  readonly value: string;
  /** `comparableQualifier(value)`, precomputed: compare is on the matching hot path. */
  readonly key: string;
}
interface ComboItem {
  readonly t: T.Combo;
  readonly str: StrItem;
  readonly num: Item;
}
interface ListItem {
  readonly t: T.List;
  readonly items: Item[];
}
type Item = NumItem | StrItem | ComboItem | ListItem;

const ZERO: NumItem = { t: T.Num, digits: "0" };

const QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_QUALIFIERS = new Set(["ga", "final", "release"]);
/** `comparableQualifier("")`: the rank of "no qualifier". */
const RELEASE_INDEX = "5";

function comparableQualifier(q: string): string {
  if (RELEASE_QUALIFIERS.has(q)) return RELEASE_INDEX;
  const i = QUALIFIERS.indexOf(q);
  // Unknown qualifiers sort after the known ones, lexically among themselves.
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

function strItem(value: string, followedByDigit: boolean): StrItem {
  if (followedByDigit && value.length === 1) {
    // a1 = alpha-1, b1 = beta-1, m1 = milestone-1
    if (value === "a") value = "alpha";
    else if (value === "b") value = "beta";
    else if (value === "m") value = "milestone";
  }
  if (value === "cr") value = "rc";
  return { t: T.Str, value, key: comparableQualifier(value) };
}

function numItem(buf: string): NumItem {
  let i = 0;
  while (i < buf.length && buf.charCodeAt(i) === 48) i++;
  return i === buf.length ? ZERO : { t: T.Num, digits: i === 0 ? buf : buf.slice(i) };
}

const UNICODE_DIGIT = /\p{Nd}/u;

function comboItem(value: string): ComboItem {
  let index = 0;
  for (let i = 0; i < value.length; i++) {
    if (UNICODE_DIGIT.test(value[i]!)) {
      index = i;
      break;
    }
  }
  return { t: T.Combo, str: strItem(value.slice(0, index), true), num: numItem(value.slice(index)) };
}

function parseItem(isCombination: boolean, isDigit: boolean, buf: string): Item {
  if (isCombination) return comboItem(buf.replaceAll("-", ""));
  if (isDigit) return numItem(buf);
  return strItem(buf, false);
}

function isNull(item: Item): boolean {
  switch (item.t) {
    case T.Num:
      return item.digits === "0";
    case T.Str:
      return item.value === "";
    case T.Combo:
      return false;
    case T.List:
      return item.items.length === 0;
  }
}

function normalize(list: ListItem): void {
  const items = list.items;
  for (let i = items.length - 1; i >= 0; i--) {
    if (!isNull(items[i]!)) continue;
    const next = items[i + 1];
    if (next === undefined || next.t === T.Str) items.splice(i, 1);
    else if (next.t === T.List) {
      const head = next.items[0];
      if (head !== undefined && (head.t === T.Combo || head.t === T.Str)) items.splice(i, 1);
    }
  }
  const only = items.length === 1 ? items[0]! : undefined;
  if (only !== undefined && only.t === T.List) {
    // Removing a zero prefix must not leave an extra qualifier nesting level.
    items.length = 0;
    items.push(...only.items);
  }
}

const isAsciiDigit = (c: number): boolean => c >= 48 && c <= 57;

/** `new ComparableVersion(version)`'s item tree. */
export function parseMaven(version: string): ListItem {
  const v = version.toLowerCase();
  const root: ListItem = { t: T.List, items: [] };
  let list = root;
  const stack: ListItem[] = [root];
  const open = (): void => {
    const sub: ListItem = { t: T.List, items: [] };
    list.items.push(sub);
    list = sub;
    stack.push(sub);
  };
  let isDigit = false;
  let isCombination = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 46) {
      // "."
      list.items.push(i === start ? ZERO : parseItem(isCombination, isDigit, v.slice(start, i)));
      isCombination = false;
      start = i + 1;
    } else if (c === 45) {
      // "-"
      if (i === start) list.items.push(ZERO);
      else {
        // X-1 is treated as X1
        if (!isDigit && i !== v.length - 1 && UNICODE_DIGIT.test(v[i + 1]!)) {
          isCombination = true;
          continue;
        }
        list.items.push(parseItem(isCombination, isDigit, v.slice(start, i)));
      }
      start = i + 1;
      if (list.items.length > 0) open();
      isCombination = false;
    } else if (isAsciiDigit(c)) {
      if (!isDigit && i > start) {
        // X1
        isCombination = true;
        if (list.items.length > 0) open();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.items.push(parseItem(isCombination, true, v.slice(start, i)));
        start = i;
        open();
        isCombination = false;
      }
      isDigit = false;
    }
  }
  if (v.length > start) {
    // 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any string qualifier X
    if (!isDigit && list.items.length > 0) open();
    list.items.push(parseItem(isCombination, isDigit, v.slice(start)));
  }
  while (stack.length > 0) normalize(stack.pop()!);
  return root;
}

function cmpDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `item.compareTo(other)`; `other` undefined stands for Java's null (a missing item). */
function cmp(item: Item, other: Item | undefined): number {
  switch (item.t) {
    case T.Num:
      if (other === undefined) return item.digits === "0" ? 0 : 1; // 1.0 == 1, 1.1 > 1
      return other.t === T.Num ? cmpDigits(item.digits, other.digits) : 1; // 1.1 > 1-sp, 1.1 > 1-1
    case T.Str:
      if (other === undefined) return cmpKeys(item.key, RELEASE_INDEX); // 1-rc < 1, 1-ga == 1
      switch (other.t) {
        case T.Num:
          return -1; // 1.any < 1.1
        case T.Str:
          return cmpKeys(item.key, other.key);
        case T.Combo: {
          const r = cmp(item, other.str);
          if (r !== 0) return r;
          return cmp(item, undefined) === 0 ? -cmp(other.num, undefined) : -1;
        }
        case T.List:
          return -cmp(other, item);
      }
      break;
    case T.Combo:
      if (other === undefined) {
        // 1-rc1 < 1, 1-ga1 > 1
        const r = cmp(item.str, undefined);
        return r === 0 ? cmp(item.num, undefined) : r;
      }
      switch (other.t) {
        case T.Num:
          return -1;
        case T.Str: {
          const r = cmp(item.str, other);
          if (r !== 0) return r;
          return cmp(item.str, undefined) === 0 ? cmp(item.num, undefined) : 1; // X1 > X
        }
        case T.List:
          return -cmp(other, item);
        case T.Combo: {
          const r = cmp(item.str, other.str);
          return r !== 0 ? r : cmp(item.num, other.num);
        }
      }
      break;
    case T.List: {
      const items = item.items;
      if (other === undefined) {
        // Compare every item with null, not just the first (MNG-6964).
        for (const i of items) {
          const r = cmp(i, undefined);
          if (r !== 0) return r;
        }
        return 0;
      }
      switch (other.t) {
        case T.Num:
          return -1; // 1-1 < 1.0.x
        case T.Str:
        case T.Combo: {
          let r = items.length === 0 ? -cmp(other, undefined) : cmp(items[0]!, other);
          for (let i = 1; r === 0 && i < items.length; i++) r = cmp(items[i]!, undefined);
          return r;
        }
        case T.List: {
          const o = other.items;
          const n = Math.max(items.length, o.length);
          for (let i = 0; i < n; i++) {
            const l = items[i];
            const r = o[i];
            const d = l === undefined ? (r === undefined ? 0 : -cmp(r, undefined)) : cmp(l, r);
            if (d !== 0) return d;
          }
          return 0;
        }
      }
    }
  }
  return 0;
}

const CACHE_LIMIT = 8192;
const cache = new Map<string, ListItem>();

function cached(version: string): ListItem {
  let p = cache.get(version);
  if (p === undefined) {
    p = parseMaven(version);
    // Dropping the whole cache when full is O(1); evicting the oldest key from a Map is not
    // (V8 skips the deleted slots at the front on every keys().next()).
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(version, p);
  }
  return p;
}

/** `new ComparableVersion(a).compareTo(new ComparableVersion(b))`, as a sign. */
export function compareMaven(a: string, b: string): Comparison {
  if (a === b) return 0;
  const d = cmp(cached(a), cached(b));
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

/** `ComparableVersion.getCanonical()`: the normalized item tree as text. */
export function canonicalMaven(version: string): string {
  return render(parseMaven(version));
}

function render(item: Item): string {
  switch (item.t) {
    case T.Num:
      return item.digits;
    case T.Str:
      return item.value;
    case T.Combo:
      return item.str.value + render(item.num);
    case T.List: {
      let out = "";
      for (const i of item.items) {
        if (out !== "") out += i.t === T.List ? "-" : ".";
        out += render(i);
      }
      return out;
    }
  }
}

/**
 * ComparableVersion accepts any string; we call a version valid when it is non-empty and free
 * of whitespace and control characters (no Maven coordinate can carry those).
 */
export function isValidMaven(version: string): boolean {
  if (version.length === 0) return false;
  for (let i = 0; i < version.length; i++) {
    const c = version.charCodeAt(i);
    if (c <= 32 || c === 127 || /\s/.test(version[i]!)) return false;
  }
  return true;
}
