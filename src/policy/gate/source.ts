import type { MetaStore } from "../../storage/meta/store.js";
import { compileRepositoryPatterns } from "../patterns.js";
import { parsePolicyDocument, type PolicyDocument, type PullRule } from "./document.js";

/** The name of the pull policy in policy_documents. */
export const PULL_POLICY = "pull";

/** A rule with its position (for messages: `rule 2`) and its compiled patterns. */
export interface CompiledRule extends PullRule {
  index: number;
  bypass: ReadonlySet<string>;
}

/** A policy ready for per-pull use: the first matching rule of a repository, memoized. */
export class CompiledPolicy {
  private readonly rules: { rule: CompiledRule; matches: (name: string) => boolean }[];
  private readonly memo = new Map<string, CompiledRule | null>();

  constructor(
    readonly document: PolicyDocument,
    /** Where it came from: `config`, or the database document's version. */
    readonly origin: { kind: "config" } | { kind: "database"; version: number },
  ) {
    this.rules = document.pull.map((r, index) => ({
      rule: { ...r, index, bypass: new Set(r.bypassUsers) },
      matches: compileRepositoryPatterns(r.repositories),
    }));
  }

  /** The first rule whose repositories match, or null (the repository is not gated). */
  ruleFor(repository: string): CompiledRule | null {
    const hit = this.memo.get(repository);
    if (hit !== undefined) return hit;
    const rule = this.rules.find((r) => r.matches(repository))?.rule ?? null;
    if (this.memo.size >= 10_000) this.memo.clear();
    this.memo.set(repository, rule);
    return rule;
  }
}

/** The pull policy document in the database, validated, or null when none is set. */
export async function readStoredPolicy(
  meta: MetaStore,
): Promise<{ doc: PolicyDocument; version: number } | null> {
  const row = await meta.policies.get(PULL_POLICY);
  if (!row) return null;
  // Validated when stored; parsed again so that defaults added later apply to old documents.
  return { doc: parsePolicyDocument(JSON.parse(row.json) as unknown), version: row.version };
}

/**
 * The effective pull policy of this process: the database document once `drydock policy set`
 * stored one (any node), else the configuration's. Its version is read at most every
 * `refreshMs` (one primary-key read), so a change reaches every node within that, and a pull
 * costs no query for it in between; the document itself is read only when the version moved.
 */
export class PolicySource {
  private cached: CompiledPolicy;
  private version = -1;
  private checkedAt = -Infinity;
  private refreshing: Promise<CompiledPolicy> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly meta: MetaStore,
    private readonly config: PolicyDocument,
    private readonly opts: { refreshMs?: number; now?: () => number } = {},
  ) {
    this.cached = new CompiledPolicy(config, { kind: "config" });
    this.now = opts.now ?? Date.now;
  }

  /** The current policy (refreshed when the last check is older than refreshMs). */
  current(): CompiledPolicy | Promise<CompiledPolicy> {
    if (this.now() - this.checkedAt < (this.opts.refreshMs ?? 1000)) return this.cached;
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** Reads the version now (after `drydock policy set` in tests, or a change through this process). */
  async refresh(): Promise<CompiledPolicy> {
    const version = await this.meta.policies.version(PULL_POLICY);
    this.checkedAt = this.now();
    if (version === this.version) return this.cached;
    const stored = await readStoredPolicy(this.meta);
    // Keep the newest: a slower concurrent refresh must not put an older policy back.
    if (version < this.version) return this.cached;
    this.version = version;
    this.cached = stored
      ? new CompiledPolicy(stored.doc, { kind: "database", version: stored.version })
      : new CompiledPolicy(this.config, { kind: "config" });
    return this.cached;
  }
}
