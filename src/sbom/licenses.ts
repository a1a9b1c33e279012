import { createRequire } from "node:module";
import parseSpdx from "spdx-expression-parse";

/**
 * License strings as catalogers report them ("MIT", "mit", "MIT OR Apache-2.0", "GPL-2+",
 * "BSD-like", "") turned into what SBOM formats accept. Both exporters use these rules so that
 * the two formats never disagree about what a package's license is.
 *
 * We never guess: only an exact SPDX id (ignoring case) or a well-formed SPDX expression is
 * treated as SPDX; "GPL-2+" stays a free-text name rather than becoming "GPL-2.0-or-later".
 */

// spdx-license-ids ships plain JSON arrays; createRequire keeps this working under tsc and vitest.
const require = createRequire(import.meta.url);
const licenseIds = require("spdx-license-ids") as string[];
const deprecatedIds = require("spdx-license-ids/deprecated.json") as string[];

const idsByLowerCase: ReadonlyMap<string, string> = new Map(
  [...licenseIds, ...deprecatedIds].map((id) => [id.toLowerCase(), id]),
);

type Ast = parseSpdx.Info;

/** The case-correct SPDX license id for `s` ("mit" → "MIT"), or undefined when it is not one. */
export function fixupLicenseId(s: string): string | undefined {
  return idsByLowerCase.get(s.trim().toLowerCase());
}

/** Parses an SPDX expression; null when it is not one (or refers to another document). */
export function parseLicenseExpression(s: string): Ast | null {
  // DocumentRef-... needs an externalDocumentRefs entry we cannot provide.
  if (s.trim() === "" || /DocumentRef-/i.test(s)) return null;
  try {
    return parseSpdx(s);
  } catch {
    // The parser throws on anything malformed, including a few TypeErrors on dangling operators.
    return null;
  }
}

function isCompound(ast: Ast): ast is parseSpdx.ConjunctionInfo {
  return "conjunction" in ast;
}

/**
 * Canonical text of a parsed expression: upper-case operators (SPDX 2.3 requires them; the
 * parser also accepts "or"), single spaces, parentheses only where precedence needs them.
 */
export function formatLicenseExpression(ast: Ast, parentConjunction?: "and" | "or"): string {
  if (!isCompound(ast)) {
    return ast.license + (ast.plus ? "+" : "") + (ast.exception ? ` WITH ${ast.exception}` : "");
  }
  const text = `${formatLicenseExpression(ast.left, ast.conjunction)} ${ast.conjunction.toUpperCase()} ${formatLicenseExpression(ast.right, ast.conjunction)}`;
  // AND binds tighter than OR: an OR inside an AND needs parentheses, the rest does not.
  return parentConjunction === "and" && ast.conjunction === "or" ? `(${text})` : text;
}

/** Every LicenseRef-... an expression uses (each must be defined in an SPDX document). */
export function licenseRefs(ast: Ast): string[] {
  if (isCompound(ast)) return [...licenseRefs(ast.left), ...licenseRefs(ast.right)];
  return ast.license.startsWith("LicenseRef-") ? [ast.license] : [];
}

export type ClassifiedLicense =
  /** One license from the SPDX list, case-corrected. */
  | { kind: "id"; id: string; text: string }
  /** A well-formed SPDX expression that is more than one listed id (canonical text). */
  | { kind: "expression"; expression: string; refs: string[]; text: string }
  /** Anything else: kept verbatim as a name. */
  | { kind: "name"; name: string; text: string };

export function classifyLicense(raw: string): ClassifiedLicense {
  const text = raw.trim();
  const id = fixupLicenseId(text);
  if (id) return { kind: "id", id, text };
  const ast = parseLicenseExpression(text);
  if (ast)
    return { kind: "expression", expression: formatLicenseExpression(ast), refs: licenseRefs(ast), text };
  return { kind: "name", name: text, text };
}

/** Trimmed, non-empty, first-seen-order unique license strings of a package. */
export function cleanLicenses(licenses: readonly string[] | undefined): string[] {
  const seen = new Set<string>();
  for (const l of licenses ?? []) {
    const t = l.trim();
    if (t) seen.add(t);
  }
  return [...seen];
}

/** Joins SPDX expressions with AND, parenthesising compound operands. */
export function andJoin(expressions: readonly string[]): string {
  if (expressions.length === 1) return expressions[0]!;
  return expressions.map((e) => (/\s(AND|OR)\s/.test(e) ? `(${e})` : e)).join(" AND ");
}
