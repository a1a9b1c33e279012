/**
 * A matcher for a fixed set of absolute paths, for `Cataloger.matches`, which runs on every
 * file of every layer. `Set.has` on a path fresh from a tar header hashes the whole string
 * (~90 ns measured); testing the length first (a small-integer set) rejects nearly every path
 * in ~10 ns and hashes only the rare candidates of the right length.
 */
export function exactPaths(paths: Iterable<string>): (path: string) => boolean {
  const set = new Set(paths);
  const lengths = new Set([...set].map((p) => p.length));
  return (path) => lengths.has(path.length) && set.has(path);
}
