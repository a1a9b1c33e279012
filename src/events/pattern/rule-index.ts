import type { Condition, EventPattern, Matcher } from "./ast.js";
import { EventView } from "./event-view.js";
import { flattenEvent, PathSet, type Leaf } from "./flatten.js";
import { caseAlternatives, foldSafe, patternFoldKey } from "./ignore-case.js";
import { looksLikeIp } from "./ip.js";
import { foldCode, hashNumber, hashString, KIND, KeyTable, mixKey, step } from "./key-table.js";
import { branchMatches } from "./match.js";
import { parseEventPattern, type ParseOptions } from "./parse.js";
import { compileCondition, type ConditionTest } from "./value-tests.js";
import { wildcardSegments } from "./wildcard.js";

/**
 * Many rules compiled into one structure, so that the cost of matching an event does not grow
 * with the number of rules (the role of event-ruler's state machine).
 *
 * Every branch of every rule is filed under one of its conditions, its anchor: a condition the
 * event must satisfy for the branch to match, chosen among the branch's conditions as the one
 * fewest other branches share. Conditions on exact values (strings, numbers, booleans, null, IP
 * addresses), prefixes, suffixes, their ignore-case forms, and wildcards with a literal start or
 * end are filed by value; other positive conditions (numeric ranges, CIDR blocks, anything-but,
 * exists: true) by path only; a branch whose every condition admits a missing field is checked
 * for every event. An event is flattened once (only the paths some rule reads), each of its
 * values looked up in the index of its path, and only the branches found are checked in full,
 * by the same code as the single-pattern matcher: the two cannot disagree as long as the index
 * never misses a branch, which the differential property test checks.
 *
 * The index is one KeyTable of hashed (path, kind, value) keys: a value is hashed in one pass
 * per direction, probed whole and at the prefix and suffix lengths its path's rules use. With
 * thousands of rules the cost of matching is in cache misses more than in instructions, and a
 * probe that misses reads one small integer array (see key-table.ts); a hash shared by two
 * values only adds a candidate that the full check turns away.
 */

export interface RuleInput<Id> {
  id: Id;
  /** Parsed, or the pattern's JSON text. */
  pattern: EventPattern | string;
}

export interface CompiledRules<Id> {
  /** Rules compiled (distinct ids). */
  readonly size: number;
  /** Ids of the rules `event` matches, in the order the rules were given. */
  matchingRules(event: unknown): Id[];
}

/** Rules sharing an id are one rule whose patterns are alternatives (as event-ruler's addRule). */
export function compileRules<Id>(
  rules: Iterable<RuleInput<Id>>,
  options: ParseOptions = {},
): CompiledRules<Id> {
  return new RuleIndex(rules, options);
}

type Anchor =
  { kind: "values"; path: string; entries: Entry[] } | { kind: "present"; path: string } | { kind: "always" };

type Entry =
  | {
      map: "strings" | "ips" | "prefixes" | "suffixes" | "foldExact" | "foldPrefixes" | "foldSuffixes";
      key: string;
    }
  | { map: "numbers"; key: number }
  | { map: "true" | "false" | "null" };

/**
 * What the index holds at one path: which kinds of keys (so that a value is hashed only the ways
 * some rule asks for) and the lengths of its prefixes and suffixes (probed at those lengths
 * only, as the value's rolling hash passes them). The keys themselves are in the index's one
 * KeyTable.
 */
class PathPlan {
  exact = false;
  foldExact = false;
  numbers = false;
  ips = false;
  literals = false;
  prefixLengths: number[] = [];
  suffixLengths: number[] = [];
  foldPrefixLengths: number[] = [];
  foldSuffixLengths: number[] = [];
  /** Branches anchored on a value being present (numeric ranges, CIDR, anything-but, exists). */
  present: number[] = [];
  /** Units of a value the forward pass reads: all for exact keys, else the longest prefix's. */
  forward = 0;
  /** Units the backward pass reads: the longest suffix's. */
  backward = 0;
  /** The forward pass also hashes the value's case-folded units. */
  fold = false;

  constructor(readonly id: number) {}

  /** Notes what `e` asks of a value at this path and returns its key in the KeyTable. */
  file(e: Entry): number {
    switch (e.map) {
      case "strings":
        this.exact = true;
        return mixKey(this.id, KIND.exact, hashString(e.key));
      case "foldExact":
        this.foldExact = true;
        return mixKey(this.id, KIND.foldExact, hashString(e.key));
      case "prefixes":
        addLength(this.prefixLengths, e.key.length);
        return mixKey(this.id, KIND.prefix, hashString(e.key));
      case "foldPrefixes":
        addLength(this.foldPrefixLengths, e.key.length);
        return mixKey(this.id, KIND.foldPrefix, hashString(e.key));
      case "suffixes":
        addLength(this.suffixLengths, e.key.length);
        return mixKey(this.id, KIND.suffix, hashString(e.key, true));
      case "foldSuffixes":
        addLength(this.foldSuffixLengths, e.key.length);
        return mixKey(this.id, KIND.foldSuffix, hashString(e.key, true));
      case "ips":
        this.ips = true;
        return mixKey(this.id, KIND.ip, hashString(e.key));
      case "numbers":
        this.numbers = true;
        return mixKey(this.id, KIND.number, hashNumber(e.key));
      default:
        this.literals = true;
        return mixKey(this.id, KIND[e.map], 0);
    }
  }

  freeze(): void {
    for (const l of [this.prefixLengths, this.suffixLengths, this.foldPrefixLengths, this.foldSuffixLengths])
      l.sort((a, b) => a - b);
    const last = (l: number[]) => (l.length > 0 ? l[l.length - 1]! : 0);
    this.forward =
      this.exact || this.foldExact
        ? Infinity
        : Math.max(last(this.prefixLengths), last(this.foldPrefixLengths));
    this.fold = this.foldExact || this.foldPrefixLengths.length > 0;
    this.backward = Math.max(last(this.suffixLengths), last(this.foldSuffixLengths));
  }
}

function addLength(lengths: number[], n: number): void {
  if (!lengths.includes(n)) lengths.push(n);
}

class RuleIndex<Id> implements CompiledRules<Id> {
  private readonly ids: Id[] = [];
  /** Per branch: its conditions, and (branchRule, filled once all are known) its rule's number. */
  private readonly branches: ConditionTest[][] = [];
  private readonly branchRule: Int32Array;
  private readonly paths = new Map<string, PathPlan>();
  private readonly table: KeyTable;
  private readonly always: number[] = [];
  private readonly wanted: PathSet;
  private readonly branchStamp: Uint32Array;
  private readonly ruleStamp: Uint32Array;
  private epoch = 0;
  /** Reused by every call (matching is synchronous): no allocation for an event nothing matches. */
  private readonly candidates: number[] = [];

  constructor(rules: Iterable<RuleInput<Id>>, options: ParseOptions) {
    const byId = new Map<Id, number>();
    const anchorsOf: Anchor[][] = [];
    const ruleOf: number[] = [];
    // Identical conditions (source, detail-type, account ... are in most rules) are compiled
    // once: checking a candidate then reads mostly objects that every event's checks keep in the
    // CPU's caches, rather than thousands of copies each cold.
    const tests = new Map<string, ConditionTest>();
    const shared = (c: Condition): ConditionTest => {
      // Numbers spelled out, so that no two values share a key (JSON would write -0 as 0 and
      // Infinity as null).
      const key = JSON.stringify(c, (_, v: unknown) =>
        typeof v === "number" ? (Object.is(v, -0) ? "n-0" : `n${v}`) : v,
      );
      let t = tests.get(key);
      if (!t) tests.set(key, (t = compileCondition(c)));
      return t;
    };
    const allPaths: string[] = [];
    for (const { id, pattern } of rules) {
      const parsed = typeof pattern === "string" ? parseEventPattern(pattern, options) : pattern;
      let rule = byId.get(id);
      if (rule === undefined) {
        rule = this.ids.length;
        byId.set(id, rule);
        this.ids.push(id);
      }
      for (const b of parsed.branches) {
        this.branches.push(b.conditions.map((c) => shared(c)));
        ruleOf.push(rule);
        anchorsOf.push(candidateAnchors(b.conditions));
        for (const c of b.conditions) allPaths.push(c.path);
      }
    }
    this.wanted = new PathSet(allPaths);

    // How many branches each key (and each path, for path-only anchors) would hold.
    const load = new Map<string, number>();
    const bump = (k: string) => load.set(k, (load.get(k) ?? 0) + 1);
    for (const anchors of anchorsOf) for (const a of anchors) for (const k of loadKeys(a)) bump(k);
    const cost = (a: Anchor) => {
      if (a.kind === "always") return Number.POSITIVE_INFINITY;
      return loadKeys(a).reduce((sum, k) => sum + (load.get(k) ?? 0), 0) + (a.kind === "present" ? 0.5 : 0);
    };

    const entries = new Map<number, number[]>();
    anchorsOf.forEach((anchors, branch) => {
      let best: Anchor = { kind: "always" };
      for (const a of anchors) if (cost(a) < cost(best)) best = a;
      if (best.kind === "always") {
        this.always.push(branch);
        return;
      }
      let plan = this.paths.get(best.path);
      if (!plan) this.paths.set(best.path, (plan = new PathPlan(this.paths.size)));
      if (best.kind === "present") plan.present.push(branch);
      else for (const e of best.entries) push(entries, plan.file(e), branch);
    });
    for (const plan of this.paths.values()) plan.freeze();
    this.table = new KeyTable(entries);
    // A typed array: a candidate's rule is read without touching a per-branch object.
    this.branchRule = Int32Array.from(ruleOf);
    this.branchStamp = new Uint32Array(this.branches.length);
    this.ruleStamp = new Uint32Array(this.ids.length);
  }

  get size(): number {
    return this.ids.length;
  }

  matchingRules(event: unknown): Id[] {
    if (this.branches.length === 0) return [];
    const epoch = this.nextEpoch();
    const candidates = this.candidates;
    candidates.length = 0;
    this.addAll(this.always, epoch);
    const flat = flattenEvent(event, this.wanted);
    for (const [path, leaves] of flat.leaves) {
      const plan = this.paths.get(path);
      if (!plan) continue;
      if (leaves.length > 0) this.addAll(plan.present, epoch);
      for (const leaf of leaves) this.lookup(plan, leaf, epoch);
    }
    if (candidates.length === 0) return [];
    const view = new EventView(flat);
    const matched: number[] = [];
    for (const b of candidates) {
      const rule = this.branchRule[b]!;
      if (this.ruleStamp[rule] === epoch) continue;
      if (branchMatches(this.branches[b]!, view)) {
        this.ruleStamp[rule] = epoch;
        matched.push(rule);
      }
    }
    if (matched.length > 1) matched.sort((a, b) => a - b);
    return matched.map((r) => this.ids[r]!);
  }

  /** Adds the branches whose anchor `leaf` may satisfy. */
  private lookup(plan: PathPlan, leaf: Leaf, epoch: number): void {
    const v = leaf.value;
    const id = plan.id;
    if (typeof v === "string") {
      const n = v.length;
      // One pass from the start: the hash of the whole value for exact keys, of its first units
      // for prefixes (probed at the lengths rules use), the same over the case-folded units
      // when some rule ignores case.
      const pl = plan.prefixLengths;
      const fl = plan.foldPrefixLengths;
      const forward = Math.min(n, plan.forward);
      if (pl.length > 0 || fl.length > 0 || plan.exact || plan.foldExact) {
        const fold = plan.fold;
        let h = 0;
        let hf = 0;
        let pi = 0;
        let fi = 0;
        if (pl[0] === 0) {
          this.probe(mixKey(id, KIND.prefix, 0), epoch);
          pi = 1;
        }
        if (fl[0] === 0) {
          this.probe(mixKey(id, KIND.foldPrefix, 0), epoch);
          fi = 1;
        }
        for (let i = 0; i < forward; i++) {
          const c = v.charCodeAt(i);
          h = step(h, c);
          if (fold) hf = step(hf, foldCode(c));
          if (pi < pl.length && pl[pi] === i + 1) {
            this.probe(mixKey(id, KIND.prefix, h), epoch);
            pi++;
          }
          if (fi < fl.length && fl[fi] === i + 1) {
            this.probe(mixKey(id, KIND.foldPrefix, hf), epoch);
            fi++;
          }
        }
        if (plan.exact) this.probe(mixKey(id, KIND.exact, h), epoch);
        if (plan.foldExact) this.probe(mixKey(id, KIND.foldExact, hf), epoch);
      }
      const sl = plan.suffixLengths;
      const gl = plan.foldSuffixLengths;
      if (sl.length > 0 || gl.length > 0) {
        const backward = Math.min(n, plan.backward);
        let h = 0;
        let hf = 0;
        let si = 0;
        let gi = 0;
        if (sl[0] === 0) {
          this.probe(mixKey(id, KIND.suffix, 0), epoch);
          si = 1;
        }
        if (gl[0] === 0) {
          this.probe(mixKey(id, KIND.foldSuffix, 0), epoch);
          gi = 1;
        }
        for (let i = 0; i < backward; i++) {
          const c = v.charCodeAt(n - 1 - i);
          if (si < sl.length) {
            h = step(h, c);
            if (sl[si] === i + 1) {
              this.probe(mixKey(id, KIND.suffix, h), epoch);
              si++;
            }
          }
          if (gi < gl.length) {
            hf = step(hf, foldCode(c));
            if (gl[gi] === i + 1) {
              this.probe(mixKey(id, KIND.foldSuffix, hf), epoch);
              gi++;
            }
          }
        }
      }
      if (plan.ips && looksLikeIp(v)) {
        const ip = leaf.ipAddress;
        if (ip) this.probe(mixKey(id, KIND.ip, hashString(`${ip.family}${ip.hex}`)), epoch);
      }
    } else if (typeof v === "number") {
      if (plan.numbers) this.probe(mixKey(id, KIND.number, hashNumber(v)), epoch);
    } else if (plan.literals) {
      this.probe(mixKey(id, v === true ? KIND.true : v === false ? KIND.false : KIND.null, 0), epoch);
    }
  }

  private probe(key: number, epoch: number): void {
    const table = this.table;
    const slot = table.find(key);
    if (slot < 0) return;
    const stamp = this.branchStamp;
    const one = table.single(slot);
    if (one >= 0) {
      if (stamp[one] !== epoch) {
        stamp[one] = epoch;
        this.candidates.push(one);
      }
      return;
    }
    const ids = table.ids;
    for (let i = table.start(slot), end = table.end(slot); i < end; i++) {
      const b = ids[i]!;
      if (stamp[b] !== epoch) {
        stamp[b] = epoch;
        this.candidates.push(b);
      }
    }
  }

  private addAll(branches: readonly number[], epoch: number): void {
    const stamp = this.branchStamp;
    for (const b of branches) {
      if (stamp[b] !== epoch) {
        stamp[b] = epoch;
        this.candidates.push(b);
      }
    }
  }

  private nextEpoch(): number {
    this.epoch = (this.epoch + 1) >>> 0;
    if (this.epoch === 0) {
      this.branchStamp.fill(0);
      this.ruleStamp.fill(0);
      this.epoch = 1;
    }
    return this.epoch;
  }
}

function push(map: Map<number, number[]>, key: number, branch: number): void {
  const list = map.get(key);
  if (list) list.push(branch);
  else map.set(key, [branch]);
}

/** The conditions of a branch that could anchor it (those an event must satisfy). */
function candidateAnchors(conditions: readonly { path: string; matchers: Matcher[] }[]): Anchor[] {
  const out: Anchor[] = [];
  for (const c of conditions) {
    if (c.matchers.some((m) => m.kind === "exists" && !m.value)) continue;
    const entries: Entry[] = [];
    let byValue = true;
    for (const m of c.matchers) {
      const e = entryOf(m);
      if (e === null) byValue = false;
      else entries.push(e);
    }
    out.push(byValue ? { kind: "values", path: c.path, entries } : { kind: "present", path: c.path });
  }
  return out;
}

/** The index entry under which a value satisfying `m` is sure to be found, null if none. */
function entryOf(m: Matcher): Entry | null {
  switch (m.kind) {
    case "string":
      return { map: "strings", key: m.value };
    case "ip":
      return { map: "ips", key: `${m.range.family}${m.range.low}` };
    case "number":
      return { map: "numbers", key: m.value };
    case "boolean":
      return { map: m.value ? "true" : "false" };
    case "null":
      return { map: "null" };
    case "prefix":
    case "suffix": {
      if (!m.ignoreCase) return { map: m.kind === "prefix" ? "prefixes" : "suffixes", key: m.value };
      const alts = caseAlternatives(m.value);
      if (!foldSafe(alts)) return null;
      return { map: m.kind === "prefix" ? "foldPrefixes" : "foldSuffixes", key: patternFoldKey(alts) };
    }
    case "equals-ignore-case": {
      const alts = caseAlternatives(m.value);
      return foldSafe(alts) ? { map: "foldExact", key: patternFoldKey(alts) } : null;
    }
    case "wildcard": {
      const segments = wildcardSegments(m.value);
      if (segments.length === 1) return { map: "strings", key: segments[0]! };
      if (segments[0] !== "") return { map: "prefixes", key: segments[0]! };
      const last = segments[segments.length - 1]!;
      if (last !== "") return { map: "suffixes", key: last };
      return null;
    }
    default:
      return null;
  }
}

function loadKeys(a: Anchor): string[] {
  if (a.kind === "always") return [];
  if (a.kind === "present") return [`present\u0000${a.path}`];
  return a.entries.map((e) => `${e.map}\u0000${a.path}\u0000${"key" in e ? String(e.key) : ""}`);
}
