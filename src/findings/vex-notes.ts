import type { SuppressionNote, VexNote } from "../api/inspector2/finding.js";
import type { VexVerdict } from "./vex/index.js";

/**
 * How a VEX verdict shows on a finding, the same in the registry (suppression.ts) and in
 * `drydock scan` (ci-suppression.ts): what the statement says, and why it suppresses when it
 * is `not_affected`.
 */

/** The statement that speaks for a finding, whatever its status. */
export function vexNote(v: VexVerdict): VexNote {
  return {
    status: v.status,
    source: v.source,
    format: v.format,
    ...(v.statement.justification ? { justification: v.statement.justification } : {}),
    ...(v.statement.detail ? { detail: v.statement.detail } : {}),
    ...(v.statement.action ? { action: v.statement.action } : {}),
  };
}

/** Why a `not_affected` statement suppresses a finding; null for any other status. */
export function vexSuppression(v: VexVerdict): SuppressionNote | null {
  if (v.status !== "not_affected") return null;
  return {
    kind: "vex",
    name: v.source,
    ...(v.statement.justification ? { justification: v.statement.justification } : {}),
    ...(v.statement.detail ? { reason: v.statement.detail } : {}),
  };
}
