import type { FlatEvent, Leaf, Membership } from "./flatten.js";

/**
 * A flattened event with what array-consistent matching asks of it: the values at a path that
 * can stand together with the array elements already chosen. When every value at a path sits in
 * some array (an array of objects, typically), its values are indexed by element, so that
 * pinning an element looks at that element's values only, not at every element of a long array.
 */

/** Chosen array elements: array id → element index. */
export type Choice = Map<number, number>;

const NONE: readonly Leaf[] = [];

interface PathInfo {
  /** Every array any value at the path sits in. */
  arrays: Set<number>;
  /** Arrays that hold every value at the path, with the values per element. */
  byElement: Map<number, Map<number, Leaf[]>>;
}

export class EventView {
  /** Made on first use: most events' checks never ask (one array or none). */
  private info: Map<string, PathInfo> | null = null;

  constructor(readonly flat: FlatEvent) {}

  leaves(path: string): readonly Leaf[] {
    return this.flat.leaves.get(path) ?? NONE;
  }

  /** The array ids the values at `path` sit in. */
  arrays(path: string): ReadonlySet<number> {
    return this.pathInfo(path).arrays;
  }

  /** Values at `path` consistent with `choice` (none of their arrays pinned to another element). */
  consistent(path: string, choice: Choice): readonly Leaf[] {
    const all = this.leaves(path);
    if (choice.size === 0 || all.length === 0) return all;
    const info = this.pathInfo(path);
    if (info.arrays.size === 0) return all;
    let candidates: readonly Leaf[] = all;
    let touched = false;
    for (const [array, element] of choice) {
      if (!info.arrays.has(array)) continue;
      touched = true;
      const byIndex = info.byElement.get(array);
      if (byIndex) {
        const list = byIndex.get(element) ?? NONE;
        if (list.length < candidates.length) candidates = list;
      }
    }
    if (!touched) return all;
    return candidates.filter((leaf) => fits(leaf.membership, choice));
  }

  private pathInfo(path: string): PathInfo {
    this.info ??= new Map();
    let info = this.info.get(path);
    if (info) return info;
    const arrays = new Set<number>();
    let common: Set<number> | null = null;
    for (const leaf of this.leaves(path)) {
      const chain = new Set<number>();
      for (let m = leaf.membership; m; m = m.outer) {
        chain.add(m.array);
        arrays.add(m.array);
      }
      if (common === null) common = chain;
      else for (const a of common) if (!chain.has(a)) common.delete(a);
    }
    const byElement = new Map<number, Map<number, Leaf[]>>();
    for (const a of common ?? []) byElement.set(a, new Map());
    if (byElement.size > 0) {
      for (const leaf of this.leaves(path)) {
        for (let m = leaf.membership; m; m = m.outer) {
          const byIndex = byElement.get(m.array);
          if (!byIndex) continue;
          let list = byIndex.get(m.index);
          if (!list) byIndex.set(m.index, (list = []));
          list.push(leaf);
        }
      }
    }
    info = { arrays, byElement };
    this.info.set(path, info);
    return info;
  }
}

export function fits(membership: Membership | null, choice: Choice): boolean {
  for (let m = membership; m; m = m.outer) {
    const chosen = choice.get(m.array);
    if (chosen !== undefined && chosen !== m.index) return false;
  }
  return true;
}
