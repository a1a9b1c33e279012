/**
 * A bounded memo for the parsers of the SemVer-family schemes (npm/semver, go, cargo). Matching
 * compares one installed version against many advisory bounds and the same bounds again for
 * the next package, so most parses repeat; a hit is a Map lookup instead of a parse and an
 * allocation.
 *
 * Two generations keep memory flat without per-entry eviction: new entries go to `young`;
 * when it is full it becomes `old` and the previous `old` is dropped; a hit in `old` is copied
 * back to `young`. (Evicting the oldest key one at a time looked cheaper but is not: V8 leaves
 * deleted Map entries as holes that `keys().next()` walks over, which made a miss-only stream
 * ten times slower than parsing.)
 */
export function boundedMemo<T>(parse: (s: string) => T, limit = 4096): (s: string) => T {
  let young = new Map<string, T>();
  let old = new Map<string, T>();
  return (s: string): T => {
    let v = young.get(s);
    if (v !== undefined || young.has(s)) return v as T;
    v = old.get(s);
    if (v === undefined && !old.has(s)) v = parse(s);
    young.set(s, v as T);
    if (young.size >= limit) {
      old = young;
      young = new Map();
    }
    return v as T;
  };
}
