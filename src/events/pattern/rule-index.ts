import { AffixMap } from "./affix-map.js";
import type { EventPattern, Matcher } from "./ast.js";
import { EventView } from "./event-view.js";
import { flattenEvent, PathSet, type Leaf } from "./flatten.js";
import { caseAlternatives, foldKey, foldSafe, patternFoldKey } from "./ignore-case.js";
import { looksLikeIp } from "./ip.js";
import { branchMatches, compilePattern } from "./match.js";
import { parseEventPattern, type ParseOptions } from "./parse.js";
import type { ConditionTest } from "./value-tests.js";
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

class PathIndex {
  readonly strings = new Map<string, number[]>();
  readonly numbers = new Map<number, number[]>();
  readonly ips = new Map<string, number[]>();
  readonly prefixes = new AffixMap(false);
  readonly suffixes = new AffixMap(true);
  readonly foldExact = new Map<string, number[]>();
  readonly foldPrefixes = new AffixMap(false);
  readonly foldSuffixes = new AffixMap(true);
  readonly true: number[] = [];
  readonly false: number[] = [];
  readonly null: number[] = [];
  readonly present: number[] = [];
  private folds = false;

  file(e: Entry, branch: number): void {
    if (!("key" in e)) {
      this[e.map].push(branch);
      return;
    }
    if (e.map === "numbers") return push(this.numbers, e.key, branch);
    if (e.map.startsWith("fold")) this.folds = true;
    const target = this[e.map];
    if (target instanceof AffixMap) target.add(e.key, branch);
    else push(target, e.key, branch);
  }

  /** Branches this value may satisfy the anchor of. */
  lookup(leaf: Leaf, add: (ids: readonly number[] | undefined) => void): void {
    const v = leaf.value;
    if (typeof v === "string") {
      add(this.strings.get(v));
      if (this.ips.size > 0 && looksLikeIp(v)) {
        const ip = leaf.ipAddress;
        if (ip) add(this.ips.get(`${ip.family}${ip.hex}`));
      }
      this.prefixes.lookup(v, add);
      this.suffixes.lookup(v, add);
      if (this.folds) {
        const f = foldKey(v);
        add(this.foldExact.get(f));
        this.foldPrefixes.lookup(f, add);
        this.foldSuffixes.lookup(f, add);
      }
    } else if (typeof v === "number") {
      add(this.numbers.get(v));
    } else if (v === true) add(this.true);
    else if (v === false) add(this.false);
    else add(this.null);
  }
}

function push<K>(map: Map<K, number[]>, key: K, branch: number): void {
  const list = map.get(key);
  if (list) list.push(branch);
  else map.set(key, [branch]);
}

interface BranchRef {
  rule: number;
  conditions: ConditionTest[];
}

class RuleIndex<Id> implements CompiledRules<Id> {
  private readonly ids: Id[] = [];
  private readonly branches: BranchRef[] = [];
  private readonly paths = new Map<string, PathIndex>();
  private readonly always: number[] = [];
  private readonly wanted: PathSet;
  private readonly branchStamp: Uint32Array;
  private readonly ruleStamp: Uint32Array;
  private epoch = 0;

  constructor(rules: Iterable<RuleInput<Id>>, options: ParseOptions) {
    const byId = new Map<Id, number>();
    const anchorsOf: Anchor[][] = [];
    const allPaths: string[] = [];
    for (const { id, pattern } of rules) {
      const parsed = typeof pattern === "string" ? parseEventPattern(pattern, options) : pattern;
      let rule = byId.get(id);
      if (rule === undefined) {
        rule = this.ids.length;
        byId.set(id, rule);
        this.ids.push(id);
      }
      const compiled = compilePattern(parsed);
      parsed.branches.forEach((b, i) => {
        this.branches.push({ rule, conditions: compiled.branches[i]! });
        anchorsOf.push(candidateAnchors(b.conditions));
        for (const c of b.conditions) allPaths.push(c.path);
      });
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

    anchorsOf.forEach((anchors, branch) => {
      let best: Anchor = { kind: "always" };
      for (const a of anchors) if (cost(a) < cost(best)) best = a;
      if (best.kind === "always") {
        this.always.push(branch);
        return;
      }
      let idx = this.paths.get(best.path);
      if (!idx) this.paths.set(best.path, (idx = new PathIndex()));
      if (best.kind === "present") idx.present.push(branch);
      else for (const e of best.entries) idx.file(e, branch);
    });
    this.branchStamp = new Uint32Array(this.branches.length);
    this.ruleStamp = new Uint32Array(this.ids.length);
  }

  get size(): number {
    return this.ids.length;
  }

  matchingRules(event: unknown): Id[] {
    if (this.branches.length === 0) return [];
    const epoch = this.nextEpoch();
    const candidates: number[] = [];
    const stamp = this.branchStamp;
    const add = (ids: readonly number[] | undefined) => {
      if (!ids) return;
      for (const b of ids) {
        if (stamp[b] !== epoch) {
          stamp[b] = epoch;
          candidates.push(b);
        }
      }
    };
    add(this.always);
    const flat = flattenEvent(event, this.wanted);
    for (const [path, leaves] of flat.leaves) {
      const idx = this.paths.get(path);
      if (!idx) continue;
      if (leaves.length > 0) add(idx.present);
      for (const leaf of leaves) idx.lookup(leaf, add);
    }
    if (candidates.length === 0) return [];
    const view = new EventView(flat);
    const matched: number[] = [];
    for (const b of candidates) {
      const ref = this.branches[b]!;
      if (this.ruleStamp[ref.rule] === epoch) continue;
      if (branchMatches(ref.conditions, view)) {
        this.ruleStamp[ref.rule] = epoch;
        matched.push(ref.rule);
      }
    }
    matched.sort((a, b) => a - b);
    return matched.map((r) => this.ids[r]!);
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
