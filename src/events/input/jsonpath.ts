/**
 * The JSONPath subset EventBridge accepts in `InputPath` and `InputPathsMap`
 * (eb-transform-target-input: "dot notation, dashes, underscores, alphanumeric characters, array
 * indices, wildcards, forward slashes"; "JSON dot notation, not bracket notation"):
 *
 *   $                    the whole event
 *   $.detail.severity    members by name: letters, digits, `_`, `-`, `/`
 *   $.resources[0]       array elements by index
 *   $.detail.*  $.a[*]   every member or element (the result is then an array of the matches)
 *
 * Parsing is a single pass over at most 256 characters and evaluation walks each step once over
 * the values the previous step selected, so hostile paths and events cost bounded work.
 */

export type PathStep = { kind: "member"; name: string } | { kind: "index"; index: number } | { kind: "all" };

export interface JsonPath {
  text: string;
  steps: PathStep[];
  /** Whether the path has a wildcard (then it selects a list, as Jayway JsonPath does). */
  indefinite: boolean;
}

export const MAX_PATH_LENGTH = 256;

const NAME = /^[\p{L}\p{N}_\-/]+/u;

/** The path, or undefined when it is not of the supported form. */
export function parseJsonPath(text: string): JsonPath | undefined {
  if (text.length > MAX_PATH_LENGTH || !text.startsWith("$")) return undefined;
  const steps: PathStep[] = [];
  let i = 1;
  while (i < text.length) {
    const c = text[i];
    if (c === ".") {
      const rest = text.slice(i + 1);
      if (rest.startsWith("*")) {
        steps.push({ kind: "all" });
        i += 2;
        continue;
      }
      const m = NAME.exec(rest);
      if (!m) return undefined;
      steps.push({ kind: "member", name: m[0] });
      i += 1 + m[0].length;
    } else if (c === "[") {
      const m = /^\[(\d{1,9}|\*)\]/.exec(text.slice(i));
      if (!m) return undefined;
      steps.push(m[1] === "*" ? { kind: "all" } : { kind: "index", index: Number(m[1]) });
      i += m[0].length;
    } else return undefined;
  }
  return { text, steps, indefinite: steps.some((s) => s.kind === "all") };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * What the path selects in `root`: `{found: false}` when a definite path leads nowhere; an
 * indefinite path always finds the (possibly empty) array of its matches.
 */
export function selectPath(
  path: JsonPath,
  root: unknown,
): { found: true; value: unknown } | { found: false } {
  let current: unknown[] = [root];
  for (const step of path.steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === "member") {
        if (isObject(v) && Object.hasOwn(v, step.name)) next.push(v[step.name]);
      } else if (step.kind === "index") {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (Array.isArray(v) || isObject(v)) {
        // a loop, not a spread: a large array would overflow the argument list
        for (const x of Array.isArray(v) ? v : Object.values(v)) next.push(x);
      }
    }
    current = next;
  }
  if (path.indefinite) return { found: true, value: current };
  return current.length === 1 ? { found: true, value: current[0] } : { found: false };
}
