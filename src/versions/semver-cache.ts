/**
 * A bounded memo for the parsers of the SemVer-family schemes (npm/semver, go, cargo). Matching
 * compares one installed version against many advisory bounds and the same bounds again for
 * the next package, so most parses repeat; a hit is a Map lookup instead of a parse and an
 * allocation. The bound keeps memory flat: past `limit` entries the oldest is dropped (FIFO:
 * cheaper than LRU bookkeeping on every hit, and the working set is small).
 */
export function boundedMemo<T>(parse: (s: string) => T, limit = 4096): (s: string) => T {
  const memo = new Map<string, T>();
  return (s: string): T => {
    let v = memo.get(s);
    if (v === undefined && !memo.has(s)) {
      v = parse(s);
      if (memo.size >= limit) memo.delete(memo.keys().next().value!);
      memo.set(s, v);
    }
    return v as T;
  };
}
