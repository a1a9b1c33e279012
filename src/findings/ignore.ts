import { readFile } from "node:fs/promises";
import { yaml } from "../core/yaml.js";
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import type { Finding } from "./finding.js";
import { normalizePackage } from "../vulndb/ecosystems.js";

/**
 * The ignore file of `drydock scan --ignore-file`: vulnerabilities accepted for a reason
 * until a date, optionally only for one package (name or purl).
 *
 *   ignore:
 *     - id: CVE-2023-1234            # or an alias (GHSA-…, GO-…)
 *       package: openssl             # optional: package name, or a purl (prefix match)
 *       reason: not reachable from our code
 *       expires: 2026-12-31          # required: the entry stops suppressing after this day
 *
 * Entries are checked strictly (a reason, a real date; unknown keys refused, so that a typo
 * such as `packge:` cannot silently widen an entry to every package).
 */

/** A real calendar day (`2026-02-30` is refused, though Date.parse takes it), or a timestamp. */
function validExpiry(v: string): boolean {
  const t = Date.parse(v);
  if (Number.isNaN(t)) return false;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return new Date(t).toISOString().slice(0, 10) === v;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v);
}

const entrySchema = z.strictObject({
  id: z.string().min(1),
  package: z.string().min(1).optional(),
  reason: z.string().min(1, "every ignore entry needs a reason"),
  expires: z
    .union([z.string(), z.date()])
    .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
    .refine(validExpiry, "expires must be a date (YYYY-MM-DD) or an RFC 3339 timestamp"),
});
const fileSchema = z.strictObject({ ignore: z.array(entrySchema).default([]) });

export type IgnoreEntry = z.infer<typeof entrySchema>;

export async function readIgnoreFile(path: string): Promise<IgnoreEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read ignore file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith(".json") ? JSON.parse(text) : yaml().parse(text);
  } catch (e) {
    throw new ConfigError(`ignore file ${path} is not valid YAML/JSON: ${(e as Error).message}`);
  }
  const r = fileSchema.safeParse(raw ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`ignore file ${path}: ${i.path.join(".")}: ${i.message}`);
  }
  return r.data.ignore;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * An entry has expired once its `expires` day is over (UTC): `2026-12-31` still suppresses on
 * that day. A full timestamp (`2026-12-31T12:00:00Z`) expires at that instant.
 */
export function isExpired(e: IgnoreEntry, now: Date): boolean {
  const end = Date.parse(e.expires) + (DAY.test(e.expires) ? 24 * 3600_000 : 0);
  return end <= now.getTime();
}

/**
 * Whether an entry covers a finding: its id is the vulnerability or one of its aliases
 * (ids compare case-insensitively: `cve-2023-1234` is the CVE), and its package, if any, is
 * the package's name (as the ecosystem compares names: `Django` is `django` on PyPI) or a
 * purl that is the package's purl or a prefix of it ending where a purl part ends
 * (`pkg:npm/lodash` covers `pkg:npm/lodash@4.17.15`, never `pkg:npm/lodash.merge@4.6.2`).
 */
function applies(e: IgnoreEntry, f: Finding): boolean {
  const id = e.id.toUpperCase();
  if (id !== f.vulnerabilityId.toUpperCase() && !f.aliases.some((a) => a.toUpperCase() === id)) return false;
  if (!e.package) return true;
  if (e.package.startsWith("pkg:")) {
    const purl = f.package.purl;
    if (!purl.startsWith(e.package)) return false;
    return purl.length === e.package.length || "@?#".includes(purl[e.package.length]!);
  }
  const eco = f.package.ecosystem;
  return normalizePackage(eco, e.package) === normalizePackage(eco, f.package.name);
}

export interface IgnoreResult {
  kept: Finding[];
  ignored: { finding: Finding; entry: IgnoreEntry }[];
  /** Expired entries (they suppress nothing) — reported so that someone renews or removes them. */
  expired: IgnoreEntry[];
}

export function applyIgnores(findings: Finding[], entries: IgnoreEntry[], now = new Date()): IgnoreResult {
  const active = entries.filter((e) => !isExpired(e, now));
  const expired = entries.filter((e) => isExpired(e, now));
  const kept: Finding[] = [];
  const ignored: IgnoreResult["ignored"] = [];
  for (const f of findings) {
    const entry = active.find((e) => applies(e, f));
    if (entry) ignored.push({ finding: f, entry });
    else kept.push(f);
  }
  return { kept, ignored, expired };
}
