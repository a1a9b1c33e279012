/**
 * Repository name patterns, the one matcher every policy section uses (pull gate,
 * signatures, admission, lifecycle, exceptions).
 *
 * A pattern is split on `/` into segments like a repository name:
 * - a segment that is exactly `**` matches any number of whole segments, zero included
 *   (`prod/**` matches `prod`, `prod/api` and `prod/a/b`);
 * - `*` inside any other segment matches any run of characters within that one segment
 *   (`team-*` matches `team-a` but not `team-a/x`); `**` inside a longer segment is two `*`;
 * - everything else matches exactly (repository names are lowercase; no case folding).
 *
 * Matching is linear-ish two-pointer globbing at both levels (no regular expressions), so a
 * hostile pattern or name cannot make a request spend exponential time.
 */

const GLOBSTAR = "**";

/** `*` glob within one segment: classic greedy match with one backtrack point. */
function segmentMatches(pattern: string, text: string): boolean {
  if (!pattern.includes("*")) return pattern === text;
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      starP = p++;
      starT = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/** The same greedy algorithm one level up: `**` segments over name segments. */
function segmentsMatch(pattern: readonly string[], name: readonly string[]): boolean {
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] === GLOBSTAR) {
      starP = p++;
      starN = n;
    } else if (p < pattern.length && segmentMatches(pattern[p]!, name[n]!)) {
      p++;
      n++;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === GLOBSTAR) p++;
  return p === pattern.length;
}

/** Whether `name` (a repository name such as `prod/api`) matches `pattern`. */
export function repositoryPatternMatches(pattern: string, name: string): boolean {
  if (pattern === GLOBSTAR) return true;
  return segmentsMatch(pattern.split("/"), name.split("/"));
}

/**
 * A predicate for "matches any of these patterns", with the patterns split once.
 * An empty list matches nothing.
 */
export function compileRepositoryPatterns(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.includes(GLOBSTAR)) return () => true;
  const exact = new Set(patterns.filter((p) => !p.includes("*")));
  const globs = patterns.filter((p) => p.includes("*")).map((p) => p.split("/"));
  return (name) => {
    if (exact.has(name)) return true;
    if (globs.length === 0) return false;
    const segments = name.split("/");
    return globs.some((g) => segmentsMatch(g, segments));
  };
}
