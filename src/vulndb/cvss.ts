/**
 * CVSS base scores computed from vector strings, for feeds that publish only the vector (OSV
 * `severity[]` carries vectors, never numbers). Formulas and constants are those of the
 * specifications: CVSS v2 (FIRST, "A Complete Guide to the CVSS Version 2.0", §3.2.1), CVSS
 * v3.0 and v3.1 (FIRST specification documents, §7.1 and appendix A for the v3.1 Roundup).
 * Only the base score: temporal and environmental metrics in a vector are validated, not scored,
 * since a scanner reports the base score the publishers report.
 *
 * CVSS v4.0 is parsed (validated) but not scored here: its score comes from a 270-entry
 * expert lookup table plus an interpolation; feeds that carry v4 scores (NVD, CVE JSON 5) give
 * them, and OSV v4 vectors stay score-less until that table is implemented.
 */

export type CvssVersion = "2.0" | "3.0" | "3.1" | "4.0";

export interface CvssBase {
  version: CvssVersion;
  /** The vector in its canonical spelling (v2 without parentheses). */
  vector: string;
  /** The base score, or undefined for v4.0 (see module comment). */
  score?: number;
}

export class CvssError extends Error {
  override readonly name = "CvssError";
}

type Weights = Readonly<Record<string, number>>;

const V2: Readonly<Record<string, Weights>> = {
  AV: { L: 0.395, A: 0.646, N: 1.0 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 },
};
/** v2 temporal and environmental metrics: allowed in a vector, not part of the base score. */
const V2_OTHER: Readonly<Record<string, readonly string[]>> = {
  E: ["U", "POC", "F", "H", "ND"],
  RL: ["OF", "TF", "W", "U", "ND"],
  RC: ["UC", "UR", "C", "ND"],
  CDP: ["N", "L", "LM", "MH", "H", "ND"],
  TD: ["N", "L", "M", "H", "ND"],
  CR: ["L", "M", "H", "ND"],
  IR: ["L", "M", "H", "ND"],
  AR: ["L", "M", "H", "ND"],
};

const V3: Readonly<Record<string, Weights>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  PR: { N: 0.85, L: 0.62, H: 0.27 },
  UI: { N: 0.85, R: 0.62 },
  S: { U: 0, C: 1 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};
/** PR weighs more when the scope changes (specification table 16). */
const V3_PR_CHANGED: Weights = { N: 0.85, L: 0.68, H: 0.5 };
const V3_OTHER: Readonly<Record<string, readonly string[]>> = {
  E: ["X", "U", "P", "F", "H"],
  RL: ["X", "O", "T", "W", "U"],
  RC: ["X", "U", "R", "C"],
  CR: ["X", "L", "M", "H"],
  IR: ["X", "L", "M", "H"],
  AR: ["X", "L", "M", "H"],
  MAV: ["X", "N", "A", "L", "P"],
  MAC: ["X", "L", "H"],
  MPR: ["X", "N", "L", "H"],
  MUI: ["X", "N", "R"],
  MS: ["X", "U", "C"],
  MC: ["X", "N", "L", "H"],
  MI: ["X", "N", "L", "H"],
  MA: ["X", "N", "L", "H"],
};

const V4_BASE: Readonly<Record<string, readonly string[]>> = {
  AV: ["N", "A", "L", "P"],
  AC: ["L", "H"],
  AT: ["N", "P"],
  PR: ["N", "L", "H"],
  UI: ["N", "P", "A"],
  VC: ["H", "L", "N"],
  VI: ["H", "L", "N"],
  VA: ["H", "L", "N"],
  SC: ["H", "L", "N"],
  SI: ["H", "L", "N"],
  SA: ["H", "L", "N"],
};
const V4_OTHER: Readonly<Record<string, readonly string[]>> = {
  E: ["X", "A", "P", "U"],
  CR: ["X", "H", "M", "L"],
  IR: ["X", "H", "M", "L"],
  AR: ["X", "H", "M", "L"],
  MAV: ["X", "N", "A", "L", "P"],
  MAC: ["X", "L", "H"],
  MAT: ["X", "N", "P"],
  MPR: ["X", "N", "L", "H"],
  MUI: ["X", "N", "P", "A"],
  MVC: ["X", "H", "L", "N"],
  MVI: ["X", "H", "L", "N"],
  MVA: ["X", "H", "L", "N"],
  MSC: ["X", "H", "L", "N"],
  MSI: ["X", "S", "H", "L", "N"],
  MSA: ["X", "S", "H", "L", "N"],
  S: ["X", "N", "P"],
  AU: ["X", "N", "Y"],
  R: ["X", "A", "U", "I"],
  V: ["X", "D", "C"],
  RE: ["X", "L", "M", "H"],
  U: ["X", "Clear", "Green", "Amber", "Red"],
};

/** Splits `K:V/K:V` into a map, refusing duplicates, unknown metrics and unknown values. */
function metrics(
  body: string,
  base: Readonly<Record<string, Weights | readonly string[]>>,
  other: Readonly<Record<string, readonly string[]>>,
  raw: string,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of body.split("/")) {
    const i = part.indexOf(":");
    if (i <= 0) throw new CvssError(`malformed CVSS vector ${raw}: "${part}"`);
    const k = part.slice(0, i);
    const v = part.slice(i + 1);
    if (out.has(k)) throw new CvssError(`CVSS vector ${raw} repeats ${k}`);
    const allowed = base[k] ?? other[k];
    if (!allowed) throw new CvssError(`CVSS vector ${raw}: unknown metric ${k}`);
    const ok = Array.isArray(allowed) ? allowed.includes(v) : Object.hasOwn(allowed, v);
    if (!ok) throw new CvssError(`CVSS vector ${raw}: ${k} cannot be ${v}`);
    out.set(k, v);
  }
  for (const k of Object.keys(base)) {
    if (!out.has(k)) throw new CvssError(`CVSS vector ${raw} lacks ${k}`);
  }
  return out;
}

const w = (table: Weights, v: string): number => table[v]!;

/** v2 round_to_1_decimal; the epsilon keeps 4.35 (stored as 4.3499999…) rounding up as NVD does. */
function round1(x: number): number {
  return Math.round(x * 10 + 1e-9) / 10;
}

function scoreV2(m: Map<string, string>): number {
  const c = w(V2.C!, m.get("C")!);
  const i = w(V2.I!, m.get("I")!);
  const a = w(V2.A!, m.get("A")!);
  const impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a));
  const exploitability = 20 * w(V2.AV!, m.get("AV")!) * w(V2.AC!, m.get("AC")!) * w(V2.Au!, m.get("Au")!);
  const f = impact === 0 ? 0 : 1.176;
  return round1((0.6 * impact + 0.4 * exploitability - 1.5) * f);
}

/** CVSS v3.1 Roundup (appendix A): the smallest 1-decimal number >= x, immune to float noise. */
function roundup31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** CVSS v3.0 round up: the specification's plain ceiling to one decimal. */
function roundup30(x: number): number {
  return Math.ceil(x * 10) / 10;
}

function scoreV3(m: Map<string, string>, roundup: (x: number) => number): number {
  const changed = m.get("S") === "C";
  const iss = 1 - (1 - w(V3.C!, m.get("C")!)) * (1 - w(V3.I!, m.get("I")!)) * (1 - w(V3.A!, m.get("A")!));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const pr = w(changed ? V3_PR_CHANGED : V3.PR!, m.get("PR")!);
  const exploitability =
    8.22 * w(V3.AV!, m.get("AV")!) * w(V3.AC!, m.get("AC")!) * pr * w(V3.UI!, m.get("UI")!);
  if (impact <= 0) return 0;
  return roundup(Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10));
}

/**
 * Parses a CVSS vector of any version and computes its base score (except v4.0). Accepts the
 * spellings feeds use: `CVSS:3.1/…`, `CVSS:3.0/…`, `CVSS:4.0/…`, and v2 as `AV:N/…`,
 * `(AV:N/…)` or `CVSS:2.0/AV:N/…`. Throws CvssError on anything else.
 */
export function parseCvss(vector: string): CvssBase {
  const raw = vector.trim();
  const m = /^CVSS:(\d\.\d)\/(.*)$/.exec(raw);
  if (m) {
    const [, version, body] = m;
    if (version === "3.0" || version === "3.1") {
      const mm = metrics(body!, V3, V3_OTHER, raw);
      return { version, vector: raw, score: scoreV3(mm, version === "3.1" ? roundup31 : roundup30) };
    }
    if (version === "4.0") {
      metrics(body!, V4_BASE, V4_OTHER, raw);
      return { version, vector: raw };
    }
    if (version === "2.0") {
      const mm = metrics(body!, V2, V2_OTHER, raw);
      return { version, vector: body!, score: scoreV2(mm) };
    }
    throw new CvssError(`unknown CVSS version in ${raw}`);
  }
  const body = raw.startsWith("(") && raw.endsWith(")") ? raw.slice(1, -1) : raw;
  if (!body.startsWith("AV:")) throw new CvssError(`not a CVSS vector: ${raw}`);
  const mm = metrics(body, V2, V2_OTHER, raw);
  return { version: "2.0", vector: body, score: scoreV2(mm) };
}

/** `CVSS_V2` / `CVSS_V3` / `CVSS_V4` (OSV severity types) for a version. */
export function cvssType(version: CvssVersion): "CVSS_V2" | "CVSS_V3" | "CVSS_V4" {
  return version === "2.0" ? "CVSS_V2" : version === "4.0" ? "CVSS_V4" : "CVSS_V3";
}

/** The NVD qualitative rating of a v3/v4 base score (v2 has its own Low/Medium/High bands). */
export function cvssRating(score: number, version: CvssVersion = "3.1"): string {
  if (version === "2.0") return score >= 7 ? "HIGH" : score >= 4 ? "MEDIUM" : "LOW";
  if (score === 0) return "NONE";
  if (score < 4) return "LOW";
  if (score < 7) return "MEDIUM";
  if (score < 9) return "HIGH";
  return "CRITICAL";
}
