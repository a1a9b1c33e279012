import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { ConfigError } from "../core/errors.js";
import { yaml } from "../core/yaml.js";
import { parsePolicyDocument, PolicyError } from "../policy/gate/document.js";
import { PULL_POLICY, readStoredPolicy } from "../policy/gate/source.js";
import type { MetaStore } from "../storage/meta/store.js";
import { withMetaStore } from "./meta.js";

/**
 * `drydock policy get|set|reset` (options: main.ts): the pull policy in the metadata database,
 * which once set overrides the configuration's `policy` section on every node (each checks its
 * version every second: src/policy/gate/source.ts). Opening the data directory's database is the
 * admin right here, as for `drydock events dlq`. Safe while the server runs.
 */

export interface PolicyOptions {
  config?: string;
  data?: string;
  /** set: only over this stored version (0: only when none was ever set); compare and set. */
  expectedVersion?: string;
  /** Who made the change, as recorded (default `cli:<os user>`). */
  by?: string;
}

/** Prints the effective pull policy (JSON) to stdout and where it comes from to stderr. */
export async function policyGet(opts: PolicyOptions): Promise<void> {
  await withMetaStore(opts, async (meta, config) => {
    const stored = await readStoredPolicy(meta);
    const row = stored ? await meta.policies.get(PULL_POLICY) : null;
    if (stored && row)
      process.stderr.write(
        `# the database's pull policy, version ${row.version}, set by ${row.updatedBy} at ${new Date(row.updatedAt).toISOString()}\n`,
      );
    else process.stderr.write("# the configuration's pull policy (none set with drydock policy set)\n");
    process.stdout.write(JSON.stringify(stored ? stored.doc : config.policy, null, 2) + "\n");
  });
}

/** Validates a policy (JSON or YAML, a file or `-`/nothing for stdin) and stores it. */
export async function policySet(file: string | undefined, opts: PolicyOptions): Promise<void> {
  const text = file === undefined || file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  const expected = opts.expectedVersion === undefined ? undefined : Number(opts.expectedVersion);
  if (expected !== undefined && !(Number.isInteger(expected) && expected >= 0))
    throw new ConfigError(`--expected-version must be a whole number, not ${opts.expectedVersion}`);
  await withMetaStore(opts, async (meta, config) => {
    const version = await storePolicy(meta, text, {
      // signatures.keys: the key names a rule's requireSignature may name (src/policy/signatures).
      knownKeys: Object.keys(
        (config as { signatures?: { keys?: Record<string, unknown> } }).signatures?.keys ?? {},
      ),
      by: opts.by ?? `cli:${userInfo().username}`,
      expectedVersion: expected,
    });
    process.stdout.write(`pull policy stored (version ${version}); every node applies it within a second\n`);
  });
}

/** Removes the stored policy: the configuration's applies again. */
export async function policyReset(opts: PolicyOptions): Promise<void> {
  await withMetaStore(opts, async (meta) => {
    const had = await meta.policies.get(PULL_POLICY);
    await meta.policies.clear(PULL_POLICY, opts.by ?? `cli:${userInfo().username}`);
    process.stdout.write(
      had
        ? "pull policy removed: the configuration's applies again\n"
        : "no pull policy was set: nothing to do\n",
    );
  });
}

/**
 * Parses (JSON or YAML), validates and stores a policy document; its new version. A document that
 * does not validate is a ConfigError naming each entry and field, and nothing is stored.
 */
export async function storePolicy(
  meta: MetaStore,
  text: string,
  o: { knownKeys: string[]; by: string; expectedVersion?: number },
): Promise<number> {
  let parsed: unknown;
  try {
    parsed = yaml().parse(text); // YAML is a superset of JSON
  } catch (e) {
    throw new ConfigError(`the pull policy is neither JSON nor YAML: ${(e as Error).message}`);
  }
  let doc;
  try {
    doc = parsePolicyDocument(parsed ?? {}, { knownKeys: o.knownKeys });
  } catch (e) {
    if (e instanceof PolicyError) throw new ConfigError(e.message);
    throw e;
  }
  const version = await meta.policies.put(PULL_POLICY, JSON.stringify(doc), o.by, {
    expectedVersion: o.expectedVersion,
  });
  if (version === null)
    throw new ConfigError(
      `the stored pull policy is no longer at version ${o.expectedVersion} (changed by someone else): nothing stored`,
    );
  return version;
}
