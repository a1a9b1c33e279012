import { looksLikeCycloneDx, parseCycloneDxVex } from "./cyclonedx.js";
import { looksLikeOpenVex, parseOpenVex } from "./openvex.js";
import { VEX_LIMITS, VexError, type VexDocument } from "./types.js";

export * from "./types.js";
export { VexIndex, type AppliedVex, type VexVerdict } from "./match.js";
export { parseOpenVex } from "./openvex.js";
export { parseCycloneDxVex } from "./cyclonedx.js";

/**
 * The media types that make a referrer a VEX document (its artifactType, else its config's
 * media type; the document is its first layer). `oras attach --artifact-type` takes any
 * string, and both spellings are in use: OpenVEX's own `application/openvex+json` and the
 * vendor-tree `application/vnd.openvex+json`; CycloneDX's registered `application/vnd.cyclonedx+json`
 * (a VEX is a CycloneDX BOM) and the `vnd.cyclonedx.vex+json` some tools write.
 */
export const OPENVEX_MEDIA_TYPES: readonly string[] = [
  "application/openvex+json",
  "application/vnd.openvex+json",
];
export const CYCLONEDX_MEDIA_TYPES: readonly string[] = [
  "application/vnd.cyclonedx+json",
  "application/vnd.cyclonedx.vex+json",
];

/** The VEX format a media type names (parameters such as `; version=1.5` ignored), or undefined. */
export function vexFormatOfMediaType(
  mediaType: string | null | undefined,
): "openvex" | "cyclonedx" | undefined {
  if (!mediaType) return undefined;
  const base = mediaType.split(";")[0]!.trim().toLowerCase();
  if (OPENVEX_MEDIA_TYPES.includes(base)) return "openvex";
  if (CYCLONEDX_MEDIA_TYPES.includes(base)) return "cyclonedx";
  return undefined;
}

/**
 * A VEX document from its bytes: OpenVEX or CycloneDX by its content (`@context`, `bomFormat`);
 * `expect` (from a media type) refuses the other format. VexError for anything else.
 */
export function parseVex(
  bytes: Uint8Array | string,
  expect?: "openvex" | "cyclonedx",
  maxBytes: number = VEX_LIMITS.maxBytes,
): VexDocument {
  const size = typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > maxBytes)
    throw new VexError("TOO_LARGE", `the VEX document is ${size} bytes (at most ${maxBytes})`);
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new VexError("NOT_JSON", `the VEX document is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new VexError("NOT_JSON", "the VEX document is not a JSON object");
  const format = looksLikeOpenVex(v) ? "openvex" : looksLikeCycloneDx(v) ? "cyclonedx" : undefined;
  if (!format)
    throw new VexError(
      "UNKNOWN_FORMAT",
      "not a VEX document: neither an OpenVEX @context (https://openvex.dev/ns/...) nor a CycloneDX bomFormat",
    );
  if (expect && expect !== format)
    throw new VexError("UNKNOWN_FORMAT", `the media type says ${expect} but the document is ${format}`);
  return format === "openvex" ? parseOpenVex(v) : parseCycloneDxVex(v);
}
