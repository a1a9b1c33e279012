import type { AccessRule } from "../config/schema.js";
import { ConfigError } from "../core/errors.js";
import type { AccessRequest, RepositoryAction } from "./types.js";

/**
 * Per-user access rules: repository patterns with the actions they allow.
 *
 * Patterns: `*` matches any characters within one path segment (not `/`), `**` matches any
 * characters across segments (including none), everything else matches itself. So
 * `team/*` matches `team/app` but not `team/app/dev` nor `team`; `team/**` matches both
 * `team/app` and `team/app/dev`; `**` matches every repository.
 *
 * Actions: `pull`, `push`, `delete` on the matching repositories; `admin` is registry-wide
 * (the AWS APIs' registry configuration: src/api/access.ts), so a rule naming it must have
 * the pattern `**` — a narrower pattern would read as a per-repository admin that does not
 * exist, and is refused at startup rather than silently widened or ignored.
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

/** The repository actions, in the order a `repository:NAME:*` scope expands to. */
export const ALL_ACTIONS: readonly RepositoryAction[] = ["pull", "push", "delete"];

const isRepositoryAction = (a: string): a is RepositoryAction => (ALL_ACTIONS as string[]).includes(a);

/** The rule refused with a ConfigError: `admin` with a pattern other than `**`. */
export function checkAccessRule(rule: AccessRule, owner?: string): void {
  if (rule.actions.includes("admin") && rule.repository !== "**") {
    const who = owner === undefined ? "" : ` of user ${owner}`;
    throw new ConfigError(
      `auth.users: the access rule${who} {repository: "${rule.repository}", actions: [${rule.actions.join(", ")}]} ` +
        `gives admin, which is registry-wide: its repository must be "**" (docs/access.md)`,
    );
  }
}

export class AccessRules {
  private readonly compiled: { re: RegExp; everything: boolean; actions: Set<RepositoryAction> }[];
  private readonly admin: boolean;

  /** Throws ConfigError for a rule giving `admin` with a pattern other than `**`. */
  constructor(rules: readonly AccessRule[], owner?: string) {
    for (const r of rules) checkAccessRule(r, owner);
    this.compiled = rules.map((r) => ({
      re: compilePattern(r.repository),
      everything: r.repository === "**",
      actions: new Set(r.actions.filter(isRepositoryAction)),
    }));
    this.admin = rules.some((r) => r.actions.includes("admin"));
  }

  /** The union of the actions of every rule whose pattern matches the repository. */
  actionsFor(repository: string): Set<RepositoryAction> {
    const out = new Set<RepositoryAction>();
    for (const r of this.compiled) if (r.re.test(repository)) for (const a of r.actions) out.add(a);
    return out;
  }

  /**
   * The catalog lists every repository name, so it is granted only to users who may pull
   * every repository: a rule `{repository: "**", actions: [pull, ...]}`. (Filtering the
   * catalog per user would make its pagination depend on the reader; we keep it simple.)
   */
  mayListCatalog(): boolean {
    return this.mayPullEverything();
  }

  /** True when a rule `{repository: "**"}` allows pull: every repository is readable. */
  mayPullEverything(): boolean {
    return this.compiled.some((r) => r.everything && r.actions.has("pull"));
  }

  /** True when a rule allows `admin` (registry-wide configuration; it does not imply pull, push or delete). */
  mayAdminister(): boolean {
    return this.admin;
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
        // `admin` is not a repository action: a `repository:NAME:admin` scope grants nothing.
        const actions = wanted.filter((a) => isRepositoryAction(a) && allowed.has(a));
        if (actions.length) out.push({ type: "repository", name: r.name, actions });
      } else if (r.type === "registry" && r.name === "catalog" && this.mayListCatalog()) {
        out.push({ type: "registry", name: "catalog", actions: ["*"] });
      }
    }
    return out;
  }
}
