import type { AccessRequest } from "./types.js";

/**
 * Docker token scopes (https://distribution.github.io/distribution/spec/auth/scope/):
 * `TYPE[(CLASS)]:NAME:ACTION[,ACTION...]`, several separated by spaces in one `scope`
 * parameter or given as repeated parameters. Repository names never contain `:`, but a
 * scope's name is everything between the first and the last colon, as Distribution parses it.
 */
export function parseScopes(values: readonly string[]): AccessRequest[] {
  const out: AccessRequest[] = [];
  for (const value of values) {
    for (const item of value.split(" ")) {
      if (!item) continue;
      const parsed = parseScope(item);
      if (parsed) out.push(parsed);
    }
  }
  return out;
}

/** One scope, or null when it is not `type:name:actions` (ignored, as the spec allows). */
export function parseScope(scope: string): AccessRequest | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return null;
  // `repository(plugin)` is a resource class of the same type: access rules ignore classes.
  const type = scope.slice(0, first).replace(/\(.*\)$/, "");
  const name = scope.slice(first + 1, last);
  const actions = unique(
    scope
      .slice(last + 1)
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean),
  );
  if (!name || actions.length === 0) return null;
  if (type !== "repository" && type !== "registry") return null;
  return { type, name, actions };
}

export function formatScope(a: AccessRequest): string {
  return `${a.type}:${a.name}:${a.actions.join(",")}`;
}

/** Merges entries for the same resource so a challenge or token lists each resource once. */
export function mergeAccess(access: readonly AccessRequest[]): AccessRequest[] {
  const byKey = new Map<string, AccessRequest>();
  for (const a of access) {
    const key = `${a.type}:${a.name}`;
    const prev = byKey.get(key);
    if (prev) prev.actions = unique([...prev.actions, ...a.actions]);
    else byKey.set(key, { type: a.type, name: a.name, actions: unique(a.actions) });
  }
  return [...byKey.values()];
}

/** Does the granted access (e.g. a token's `access` claim) cover everything requested? */
export function covers(granted: readonly AccessRequest[], requested: readonly AccessRequest[]): boolean {
  return requested.every((r) =>
    r.actions.every((action) =>
      granted.some(
        (g) =>
          g.type === r.type && g.name === r.name && (g.actions.includes(action) || g.actions.includes("*")),
      ),
    ),
  );
}

/** The requested entries (and actions) that `granted` does not cover. */
export function missingAccess(
  granted: readonly AccessRequest[],
  requested: readonly AccessRequest[],
): AccessRequest[] {
  return requested.filter((r) => !covers(granted, [r]));
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
