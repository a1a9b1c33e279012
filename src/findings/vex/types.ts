/**
 * The one shape every VEX format is read into (OpenVEX: ./openvex.ts, CycloneDX VEX:
 * ./cyclonedx.ts), stored per image (VexStore) and matched against findings (./match.ts).
 * docs/vex-and-exceptions.md describes the formats, the mapping and the matching rules.
 */

/** OpenVEX's statuses; CycloneDX's analysis states map onto them (cyclonedx.ts). */
export type VexStatus = "not_affected" | "affected" | "fixed" | "under_investigation";
export const VEX_STATUSES: readonly VexStatus[] = [
  "not_affected",
  "affected",
  "fixed",
  "under_investigation",
];

/** A package a statement is about, from a purl: matched by type, namespace, name, and version when given. */
export interface VexPackage {
  purl: string;
  type: string;
  namespace?: string;
  name: string;
  version?: string;
}

/**
 * A product of a statement: an image (its digest, when the document names one), restricted to
 * some of its packages (none: every package of it); or a product the matcher cannot recognize
 * (a CPE, an unresolvable reference), which matches nothing rather than everything.
 */
export interface VexProduct {
  image?: string;
  packages: VexPackage[];
  unrecognized?: string;
}

export interface VexStatement {
  /** The vulnerability id as the document names it (CVE-…, GHSA-…), and its aliases. */
  vulnerability: string;
  aliases: string[];
  status: VexStatus;
  /** The CycloneDX analysis state when it was not OpenVEX's own word (false_positive, resolved, ...). */
  sourceStatus?: string;
  /** OpenVEX justification / CycloneDX analysis justification (component_not_present, ...). */
  justification?: string;
  /** OpenVEX impact_statement / CycloneDX analysis detail. */
  detail?: string;
  /** OpenVEX action_statement / CycloneDX analysis response. */
  action?: string;
  /** Empty: the statement is about the whole image the document is attached to (or scanned with). */
  products: VexProduct[];
  /** Epoch ms: the statement's own time, else the document's (latest statement wins). */
  timestamp?: number;
}

export type VexFormat = "openvex" | "cyclonedx";

export interface VexDocument {
  format: VexFormat;
  /** The document's @id or serialNumber, when it has one. */
  id?: string;
  author?: string;
  timestamp?: number;
  statements: VexStatement[];
}

/** Why a VEX document was refused; `code` for programs, the message for people. */
export type VexErrorCode = "TOO_LARGE" | "NOT_JSON" | "UNKNOWN_FORMAT" | "INVALID" | "TOO_MANY";

export class VexError extends Error {
  constructor(
    readonly code: VexErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "VexError";
  }
}

/** Limits of what is parsed: a VEX document is small; anything far bigger is refused, not read. */
export const VEX_LIMITS = {
  /** Bytes of one document. */
  maxBytes: 4 * 1024 * 1024,
  /** Statements (OpenVEX) or vulnerabilities (CycloneDX) of one document. */
  maxStatements: 20_000,
  /** Products (with their subcomponents) of one statement. */
  maxProducts: 5_000,
  /** Length of any identifier kept (ids, purls, justifications: longer ones are refused). */
  maxIdLength: 2_048,
  /** Length of free text kept (impact statements, details): longer text is cut. */
  maxTextLength: 4_096,
} as const;
