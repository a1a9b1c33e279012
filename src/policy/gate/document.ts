import { z } from "zod";

/**
 * The pull policy document: the configuration's `policy` section, and what `drydock policy set`
 * stores in the metadata database (which then overrides the configuration's on every node).
 * One schema for both, so a policy that starts in a file can be moved to the database as is.
 * Unknown fields are refused: a misspelt `blockSeverty` must not quietly gate nothing.
 */

/** The severities a rule may block at, highest first (a finding at or above it blocks). */
export const BLOCK_SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;
export type BlockSeverity = (typeof BLOCK_SEVERITIES)[number];

export const pullRuleSchema = z
  .object({
    /** Repository patterns (src/policy/patterns.ts: `**` any segments, `*` within one). */
    repositories: z.array(z.string().min(1)).min(1),
    /** Block when an ACTIVE finding (not SUPPRESSED) of the image is at or above this severity. */
    blockSeverity: z.enum(BLOCK_SEVERITIES).optional(),
    /** An image not yet scanned has its scan started and is held (up to scanWaitSeconds) for it. */
    requireScan: z.boolean().default(false),
    /** A valid signature from one of these keys (absent: the `signatures.trust` keys of the repository). */
    requireSignature: z
      .object({ keys: z.array(z.string().min(1)).min(1).optional() })
      .strict()
      .optional(),
    /** With requireScan: an image whose scan says UNSUPPORTED_IMAGE is served (allow) or not. */
    onUnsupported: z.enum(["allow", "deny"]).default("deny"),
    /** With requireScan: an image whose scan FAILED is served (allow) or not. */
    onFailed: z.enum(["allow", "deny"]).default("deny"),
    /** Users whose pulls pass whatever the rule says, with a `Drydock Pull Gate Bypassed` event. */
    bypassUsers: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const policySectionSchema = z
  .object({
    /** Pull rules; the first whose repositories match the repository applies, none: not gated. */
    pull: z.array(pullRuleSchema).default([]),
    /** How long a manifest GET of an unscanned image waits for its scan before 429. */
    scanWaitSeconds: z.number().int().nonnegative().max(600).default(60),
    /**
     * How long one process reuses what a decision read about an image (its scan state, active
     * findings by severity): a change (a new scan, a suppression) reaches pulls within this.
     * 0: read for every pull.
     */
    cacheSeconds: z.number().nonnegative().max(60).default(2),
  })
  .strict();

export type PullRule = z.infer<typeof pullRuleSchema>;
export type PolicyDocument = z.infer<typeof policySectionSchema>;

/** A policy that does not validate: the message names each entry and field at fault. */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
}

/** `pull[1].blockSeverity` from a zod issue path. */
function pathOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(document)";
}

/**
 * Validates a policy document (parsed JSON or YAML). `knownKeys`: the names of the configured
 * signature keys (`signatures.keys`), so that a rule naming a key that does not exist is refused
 * instead of denying every pull. Throws PolicyError naming every problem.
 */
export function parsePolicyDocument(
  input: unknown,
  o: { knownKeys?: Iterable<string> } = {},
): PolicyDocument {
  const r = policySectionSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`);
    throw new PolicyError(`invalid pull policy: ${problems.join("; ")}`);
  }
  if (o.knownKeys) {
    const known = new Set(o.knownKeys);
    const problems: string[] = [];
    r.data.pull.forEach((rule, i) =>
      rule.requireSignature?.keys?.forEach((k, j) => {
        if (!known.has(k))
          problems.push(
            `pull[${i}].requireSignature.keys[${j}]: no signature key named ${JSON.stringify(k)} in signatures.keys`,
          );
      }),
    );
    if (problems.length) throw new PolicyError(`invalid pull policy: ${problems.join("; ")}`);
  }
  return r.data;
}
