import { parseIp, type IpAddress } from "./ip.js";

/**
 * An event as event-ruler sees it: every scalar (string, number, boolean, null) at its dotted
 * path; objects and arrays are containers only (an empty one contributes nothing). Keys are joined
 * with "." whether nested or dotted ({"a":{"b":1}} and {"a.b":1} both give "a.b"); the elements of
 * an array all sit at the array's path. Each leaf remembers which element of which array it came
 * from (its membership), for array-consistent matching.
 */

export type Scalar = string | number | boolean | null;

/** The chain of array elements a leaf sits in, innermost first; `array` ids are per event. */
export interface Membership {
  array: number;
  index: number;
  outer: Membership | null;
}

export class Leaf {
  private ip: IpAddress | null | undefined;

  constructor(
    readonly value: Scalar,
    readonly membership: Membership | null,
  ) {}

  /** The address a string value denotes, parsed once per leaf. */
  get ipAddress(): IpAddress | null {
    if (this.ip === undefined) this.ip = typeof this.value === "string" ? parseIp(this.value) : null;
    return this.ip;
  }
}

export interface FlatEvent {
  /** The values at each path, in document order. */
  leaves: Map<string, Leaf[]>;
  /** Paths with a value inside some array (where array consistency can matter). */
  arrayPaths: Set<string>;
}

/**
 * Flattens `event`; when `wanted` is given, only paths in it (and objects on the way to them) are
 * visited, which keeps the cost of a large event proportional to what the patterns look at.
 * Iterative, so deeply nested input cannot exhaust the stack.
 */
export function flattenEvent(event: unknown, wanted?: PathSet): FlatEvent {
  const out: FlatEvent = { leaves: new Map(), arrayPaths: new Set() };
  let arrays = 0;
  const stack: { value: unknown; path: string; membership: Membership | null }[] = [];
  const pushObject = (obj: Record<string, unknown>, path: string, membership: Membership | null) => {
    const keys = Object.keys(obj);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      // Most keys of a large event are read by no pattern: ask before building their path.
      if (wanted && !wanted.mayHaveChild(path, k)) continue;
      const p = path === "" ? k : `${path}.${k}`;
      if (wanted && !wanted.has(p)) continue;
      stack.push({ value: obj[k], path: p, membership });
    }
  };
  if (event === null || typeof event !== "object" || Array.isArray(event)) return out;
  pushObject(event as Record<string, unknown>, "", null);
  while (stack.length > 0) {
    const { value, path, membership } = stack.pop()!;
    if (
      value === null ||
      typeof value === "string" ||
      typeof value === "number" ||
      typeof value === "boolean"
    ) {
      if (wanted && !wanted.isLeafPath(path)) continue;
      let list = out.leaves.get(path);
      if (!list) out.leaves.set(path, (list = []));
      list.push(new Leaf(value, membership));
      if (membership) out.arrayPaths.add(path);
    } else if (Array.isArray(value)) {
      const id = arrays++;
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], path, membership: { array: id, index: i, outer: membership } });
      }
    } else if (typeof value === "object") {
      pushObject(value as Record<string, unknown>, path, membership);
    }
    // undefined, functions, bigint: not JSON, not part of the event.
  }
  return out;
}

/** The paths some patterns test, and every dotted prefix of them (the objects leading there). */
export class PathSet {
  private readonly prefixes = new Set<string>();
  private readonly leaves = new Set<string>();
  /** Per prefix, the next dotted segments. */
  private readonly children = new Map<string, Set<string>>();

  constructor(paths: Iterable<string>) {
    for (const p of paths) this.add(p);
  }

  add(path: string): void {
    this.leaves.add(path);
    this.prefixes.add(path);
    let start = 0;
    for (let i = path.indexOf("."); ; i = path.indexOf(".", i + 1)) {
      const parent = start === 0 ? "" : path.slice(0, start - 1);
      const segment = path.slice(start, i < 0 ? path.length : i);
      let set = this.children.get(parent);
      if (!set) this.children.set(parent, (set = new Set()));
      set.add(segment);
      if (i < 0) break;
      this.prefixes.add(path.slice(0, i));
      start = i + 1;
    }
  }

  /**
   * Can key `key` under `parent` lead to a wanted path? Exact for keys without a dot; a key with
   * dots ("a.b", which stands for two levels) is left to has().
   */
  mayHaveChild(parent: string, key: string): boolean {
    if (key.includes(".")) return true;
    return this.children.get(parent)?.has(key) ?? false;
  }

  has(path: string): boolean {
    return this.prefixes.has(path);
  }

  isLeafPath(path: string): boolean {
    return this.leaves.has(path);
  }
}
