import { CvssError, cvssType, parseCvss } from "../cvss.js";
import type { SeverityScore } from "../types.js";

/**
 * One published CVSS metric (vector and, usually, score) as a SeverityScore: the vector is
 * validated and the score computed when the publisher left it out. A published score wins
 * over ours (it is what the publisher shows), but only when it is a number in 0–10.
 */
export function scoreFromMetric(vector: unknown, baseScore: unknown, source: string): SeverityScore {
  if (typeof vector !== "string") throw new CvssError("CVSS metric without a vector string");
  const c = parseCvss(vector);
  const published =
    typeof baseScore === "number" && baseScore >= 0 && baseScore <= 10 ? baseScore : undefined;
  const score = published ?? c.score;
  return { type: cvssType(c.version), vector: c.vector, ...(score === undefined ? {} : { score }), source };
}
