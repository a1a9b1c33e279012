import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import type { Finding } from "../match/types.js";

/**
 * The ignore file of `drydock scan --ignore-file`: vulnerabilities accepted for a reason
 * until a date, optionally only for one package (name or purl).
 *
 *   ignore:
 *     - id: CVE-2023-1234            # or an alias (GHSA-…, GO-…)
 *       package: openssl             # optional: package name, or a purl (prefix match)
 *       reason: not reachable from our code
 *       expires: 2026-12-31          # required: the entry stops suppressing after this day
 */
const entrySchema = z.object({
  id: z.string().min(1),
  package: z.string().min(1).optional(),
  reason: z.string().min(1, "every ignore entry needs a reason"),
  expires: z
    .union([z.string(), z.date()])
    .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
    .refine((v) => !Number.isNaN(Date.parse(v)), "expires must be a date (YYYY-MM-DD)"),
});
const fileSchema = z.object({ ignore: z.array(entrySchema).default([]) });

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
    raw = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
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

/** An entry has expired once its `expires` day is over (UTC). */
export function isExpired(e: IgnoreEntry, now: Date): boolean {
  return Date.parse(e.expires) + 24 * 3600_000 <= now.getTime();
}

function applies(e: IgnoreEntry, f: Finding): boolean {
  if (e.id !== f.vulnerabilityId && !f.aliases.includes(e.id)) return false;
  if (!e.package) return true;
  return e.package.startsWith("pkg:") ? f.package.purl.startsWith(e.package) : e.package === f.package.name;
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
