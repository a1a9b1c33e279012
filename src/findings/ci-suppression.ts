import { readFile } from "node:fs/promises";
import type { SuppressionNote, VexNote } from "../api/inspector2/finding.js";
import { ConfigError } from "../core/errors.js";
import { exceptionCovers, type ExceptionInput } from "./exceptions.js";
import type { Finding } from "./finding.js";
import { parseVex, VexError, VexIndex, type AppliedVex } from "./vex/index.js";
import { vexNote, vexSuppression } from "./vex-notes.js";

/**
 * What `drydock scan` does with VEX files (`--vex FILE`) and the configuration's exceptions:
 * the same decisions as the registry (src/findings/suppression.ts) without a store. A finding
 * that a `not_affected` statement or an exception in force covers is suppressed (listed apart,
 * with why, never counted by `--fail-on`); other VEX statuses are shown on the finding; expired
 * exceptions are reported.
 */

/** The VEX files given with `--vex`, parsed; ConfigError naming the file and the problem. */
export async function readVexFiles(paths: readonly string[]): Promise<AppliedVex[]> {
  const out: AppliedVex[] = [];
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new ConfigError(`--vex ${path}: cannot read it: ${(e as Error).message}`);
    }
    try {
      const doc = parseVex(bytes);
      out.push({ source: path, format: doc.format, statements: doc.statements });
    } catch (e) {
      if (e instanceof VexError) throw new ConfigError(`--vex ${path}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

export interface CiSuppression {
  kept: Finding[];
  suppressed: { finding: Finding; by: SuppressionNote[] }[];
  /** The VEX statement that speaks for a finding (kept or suppressed). */
  vex: Map<Finding, VexNote>;
}

export function applyCiSuppression(
  findings: readonly Finding[],
  o: {
    vex: readonly AppliedVex[];
    /** Exceptions in force (expired ones left out by the caller, and reported). */
    exceptions: readonly ExceptionInput[];
    repository?: string;
    digest?: string;
  },
): CiSuppression {
  const index = new VexIndex(o.vex, new Set(o.digest ? [o.digest] : []));
  const out: CiSuppression = { kept: [], suppressed: [], vex: new Map() };
  for (const f of findings) {
    const by: SuppressionNote[] = [];
    for (const e of o.exceptions)
      if (exceptionCovers(e, f, o.repository, o.digest))
        by.push({
          kind: "exception",
          name: e.name,
          reason: e.reason,
          owner: e.owner,
          expiresAt: e.expires ?? new Date(e.expiresAt).toISOString(),
        });
    const v = index.verdict(f);
    if (v) {
      out.vex.set(f, vexNote(v));
      const suppression = vexSuppression(v);
      if (suppression) by.push(suppression);
    }
    if (by.length) out.suppressed.push({ finding: f, by });
    else out.kept.push(f);
  }
  return out;
}

/** One line per suppressed finding, for the table output. */
export function suppressedLines(s: CiSuppression["suppressed"]): string[] {
  return s.map(({ finding: f, by }) => {
    const why = by
      .map((b) =>
        b.kind === "vex"
          ? `VEX not_affected${b.justification ? ` (${b.justification})` : ""} in ${b.name}`
          : `exception ${b.name} by ${b.owner ?? "?"} until ${b.expiresAt ?? "?"}: ${b.reason ?? ""}`,
      )
      .join("; ");
    return `  ${f.vulnerabilityId}  ${f.package.name} ${f.package.version}  ${why}`;
  });
}
