import type { AccessRule, Action } from "../config/schema.js";
import type { AccessRequest } from "./types.js";

/**
 * Per-user access rules: repository patterns with the actions they allow.
 *
 * Patterns: `*` matches any characters within one path segment (not `/`), `**` matches any
 * characters across segments (including none), everything else matches itself. So
 * `team/*` matches `team/app` but not `team/app/dev` nor `team`; `team/**` matches both
 * `team/app` and `team/app/dev`; `**` matches every repository.
 */
export function compilePattern(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") {
      re += "[^/]*";
    } else {
      re += c.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}$`);
}

export const ALL_ACTIONS: readonly Action[] = ["pull", "push", "delete"];

export class AccessRules {
  private readonly compiled: { re: RegExp; everything: boolean; actions: Set<Action> }[];

  constructor(rules: readonly AccessRule[]) {
    this.compiled = rules.map((r) => ({
      re: compilePattern(r.repository),
      everything: r.repository === "**",
      actions: new Set(r.actions),
    }));
  }

  /** The union of the actions of every rule whose pattern matches the repository. */
  actionsFor(repository: string): Set<Action> {
    const out = new Set<Action>();
    for (const r of this.compiled) if (r.re.test(repository)) for (const a of r.actions) out.add(a);
    return out;
  }

  /**
   * The catalog lists every repository name, so it is granted only to users who may pull
   * every repository: a rule `{repository: "**", actions: [pull, ...]}`. (Filtering the
   * catalog per user would make its pagination depend on the reader; we keep it simple.)
   */
  mayListCatalog(): boolean {
    return this.compiled.some((r) => r.everything && r.actions.has("pull"));
  }

  /**
   * The Docker token spec's rule: grant the intersection of what was asked and what is
   * allowed, refuse nothing outright. Resources with nothing granted are left out; `*` on
   * a repository means every action.
   */
  grant(requested: readonly AccessRequest[]): AccessRequest[] {
    const out: AccessRequest[] = [];
    for (const r of requested) {
      if (r.type === "repository") {
        const allowed = this.actionsFor(r.name);
        const wanted = r.actions.includes("*") ? ALL_ACTIONS : r.actions;
        const actions = wanted.filter((a) => allowed.has(a as Action));
        if (actions.length) out.push({ type: "repository", name: r.name, actions });
      } else if (r.type === "registry" && r.name === "catalog" && this.mayListCatalog()) {
        out.push({ type: "registry", name: "catalog", actions: ["*"] });
      }
    }
    return out;
  }
}
