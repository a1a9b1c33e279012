import type { EventPattern } from "./ast.js";
import { EventView, type Choice } from "./event-view.js";
import { flattenEvent, PathSet, type Membership } from "./flatten.js";
import { parseEventPattern } from "./parse.js";
import { compileCondition, type ConditionTest } from "./value-tests.js";

/**
 * Matching one pattern against one event, exactly as EventBridge decides.
 *
 * Arrays: a field matches when any element of an array at its path matches. Which elements may
 * stand together is event-ruler's array-consistent rule (its `rulesForJSONEvent`, what it calls
 * the correct behaviour and deprecated the other for): values matched for one branch may not come
 * from different elements of the same array. `{"m":{"name":["a"],"ns":["b"]}}` does not match
 * `{"m":[{"name":"a"},{"ns":"b"}]}`. Fields are taken in path order (as event-ruler walks its
 * machine); `{"exists": false}` holds when no value at its path fits the elements chosen by the
 * fields before it. `{ arrayConsistent: false }` gives event-ruler's legacy matcher, where each
 * field is judged on its own.
 */

export interface MatchOptions {
  /** Default true (see above). */
  arrayConsistent?: boolean;
}

/** A pattern ready to match: its branches' tests and the paths they read. */
export interface CompiledPattern {
  branches: ConditionTest[][];
  paths: PathSet;
}

const compiledCache = new WeakMap<EventPattern, CompiledPattern>();

export function compilePattern(pattern: EventPattern): CompiledPattern {
  let c = compiledCache.get(pattern);
  if (!c) {
    const branches = pattern.branches.map((b) => b.conditions.map(compileCondition));
    const paths = new PathSet(pattern.branches.flatMap((b) => b.conditions.map((x) => x.path)));
    compiledCache.set(pattern, (c = { branches, paths }));
  }
  return c;
}

/** Does `event` (a parsed JSON object) match `pattern` (parsed, or its JSON text)? */
export function matches(pattern: EventPattern | string, event: unknown, options: MatchOptions = {}): boolean {
  const p = typeof pattern === "string" ? parseEventPattern(pattern) : pattern;
  const compiled = compilePattern(p);
  const view = new EventView(flattenEvent(event, compiled.paths));
  const consistent = options.arrayConsistent ?? true;
  return compiled.branches.some((b) => branchMatches(b, view, consistent));
}

export function branchMatches(
  conditions: readonly ConditionTest[],
  view: EventView,
  arrayConsistent = true,
): boolean {
  // Each condition on its own is the legacy verdict. It is also cheap and settles most branches
  // for the array-consistent one: a positive condition no value passes fails both; and where at
  // most one condition reads values inside arrays, no two choices of elements can disagree, so
  // the verdicts are the same. (`exists: false` is weaker array-consistently: only values that
  // fit the chosen elements count.)
  let inArrays = 0;
  let legacy = true;
  for (const c of conditions) {
    const leaves = view.leaves(c.path);
    const passes = c.test !== null && leaves.some(c.test);
    if (!passes && !c.absent) return false;
    if (!passes && leaves.length > 0) legacy = false;
    if (view.flat.arrayPaths.has(c.path)) inArrays++;
  }
  if (!arrayConsistent || inArrays < 2) return legacy;
  return new ConsistentSearch(conditions, view).run();
}

const MEMO_AFTER_STEPS = 32;

/**
 * Depth-first search for values, one per condition in path order, whose array elements agree.
 * Dead ends are remembered by (condition, the chosen elements that later conditions can see), so
 * independent arrays do not multiply the work.
 */
class ConsistentSearch {
  private readonly choice: Choice = new Map();
  private readonly failed = new Set<string>();
  private relevant: ReadonlySet<number>[] | null = null;
  private steps = 0;

  constructor(
    private readonly conditions: readonly ConditionTest[],
    private readonly view: EventView,
  ) {}

  run(): boolean {
    return this.from(0);
  }

  private from(i: number): boolean {
    if (i === this.conditions.length) return true;
    let key: string | undefined;
    // Most searches end in a few steps; remembering dead ends only pays on long ones.
    if (++this.steps > MEMO_AFTER_STEPS && this.choice.size > 0) {
      key = this.memoKey(i);
      if (this.failed.has(key)) return false;
    }
    const c = this.conditions[i]!;
    const candidates = this.view.consistent(c.path, this.choice);
    if (c.test) {
      let triedOutsideArrays = false;
      for (const leaf of candidates) {
        if (!c.test(leaf)) continue;
        if (leaf.membership === null) {
          // Choosing it pins nothing: one try says it all.
          if (triedOutsideArrays) continue;
          triedOutsideArrays = true;
        }
        const pinned = this.pin(leaf.membership);
        const ok = this.from(i + 1);
        for (const a of pinned) this.choice.delete(a);
        if (ok) return true;
      }
    }
    if (c.absent && candidates.length === 0 && this.from(i + 1)) return true;
    if (key !== undefined) this.failed.add(key);
    return false;
  }

  private pin(m: Membership | null): number[] {
    const added: number[] = [];
    for (; m; m = m.outer) {
      if (!this.choice.has(m.array)) {
        this.choice.set(m.array, m.index);
        added.push(m.array);
      }
    }
    return added;
  }

  private memoKey(i: number): string {
    if (!this.relevant) {
      const rel: ReadonlySet<number>[] = [];
      let acc = new Set<number>();
      for (let j = this.conditions.length - 1; j >= 0; j--) {
        acc = new Set([...acc, ...this.view.arrays(this.conditions[j]!.path)]);
        rel[j] = acc;
      }
      this.relevant = rel;
    }
    const rel = this.relevant[i]!;
    const parts: number[] = [];
    for (const [a, e] of this.choice) if (rel.has(a)) parts.push(a, e);
    if (parts.length > 2) {
      const pairs: [number, number][] = [];
      for (let k = 0; k < parts.length; k += 2) pairs.push([parts[k]!, parts[k + 1]!]);
      pairs.sort((x, y) => x[0] - y[0]);
      return `${i}|${pairs.map((p) => `${p[0]}:${p[1]}`).join(",")}`;
    }
    return `${i}|${parts.join(":")}`;
  }
}
