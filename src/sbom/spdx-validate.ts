import { z } from "zod";
import { licenseRefs, parseLicenseExpression } from "./licenses.js";

/**
 * Structural validation of Drydock's SPDX 2.3 JSON documents.
 *
 * No npm package ships the SPDX 2.3 JSON schema, and the schema's own file is not ours to
 * copy, so this restates the rules the schema imposes on the fields Drydock writes (required
 * fields, no unknown fields, id/date/hex patterns, enumerations) and adds the rules the spec
 * states in prose and the schema cannot (unique ids, relationship targets that exist, license
 * expressions that parse, every LicenseRef defined). Fields we never write are rejected as
 * unknown, which keeps this check honest about what our documents contain.
 */

/** The schema's date-time pattern: UTC with a `Z`, whole seconds. */
const SPDX_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T(([01]\d|2[0-3]):[0-5]\d:[0-5]\d|23:59:60)Z$/;
const ELEMENT_ID = /^SPDXRef-[a-zA-Z0-9.-]+$/;
const LICENSE_REF = /^LicenseRef-[a-zA-Z0-9.-]+$/;

const annotation = z.strictObject({
  annotationDate: z.string().regex(SPDX_DATE),
  annotationType: z.enum(["OTHER", "REVIEW"]),
  annotator: z.string(),
  comment: z.string(),
});

const pkg = z.strictObject({
  SPDXID: z.string().regex(ELEMENT_ID),
  name: z.string(),
  downloadLocation: z.string(),
  versionInfo: z.string().optional(),
  filesAnalyzed: z.boolean().optional(),
  licenseConcluded: z.string().optional(),
  licenseDeclared: z.string().optional(),
  primaryPackagePurpose: z
    .enum([
      "OTHER",
      "INSTALL",
      "ARCHIVE",
      "FIRMWARE",
      "APPLICATION",
      "FRAMEWORK",
      "LIBRARY",
      "CONTAINER",
      "SOURCE",
      "DEVICE",
      "OPERATING-SYSTEM",
      "FILE",
    ])
    .optional(),
  description: z.string().optional(),
  sourceInfo: z.string().optional(),
  checksums: z
    .array(
      z.strictObject({
        algorithm: z.enum(["SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"]),
        checksumValue: z.string().regex(/^[0-9a-fA-F]+$/),
      }),
    )
    .optional(),
  externalRefs: z
    .array(
      z.strictObject({
        referenceCategory: z.enum([
          "OTHER",
          "PERSISTENT-ID",
          "PERSISTENT_ID",
          "SECURITY",
          "PACKAGE-MANAGER",
          "PACKAGE_MANAGER",
        ]),
        referenceType: z.string(),
        referenceLocator: z.string(),
        comment: z.string().optional(),
      }),
    )
    .optional(),
  annotations: z.array(annotation).optional(),
});

const document = z.strictObject({
  spdxVersion: z.literal("SPDX-2.3"),
  dataLicense: z.literal("CC0-1.0"),
  SPDXID: z.literal("SPDXRef-DOCUMENT"),
  name: z.string(),
  documentNamespace: z.string(),
  creationInfo: z.strictObject({
    created: z.string().regex(SPDX_DATE),
    creators: z.array(z.string().regex(/^(Tool|Organization|Person): \S/)).min(1),
    comment: z.string().optional(),
    licenseListVersion: z.string().optional(),
  }),
  packages: z.array(pkg).optional(),
  hasExtractedLicensingInfos: z
    .array(
      z.strictObject({
        licenseId: z.string().regex(LICENSE_REF),
        extractedText: z.string(),
        name: z.string().optional(),
        comment: z.string().optional(),
      }),
    )
    .optional(),
  relationships: z
    .array(
      z.strictObject({
        spdxElementId: z.string(),
        relationshipType: z.enum(["DESCRIBES", "CONTAINS", "DEPENDS_ON", "DEPENDENCY_OF", "OTHER"]),
        relatedSpdxElement: z.string(),
        comment: z.string().optional(),
      }),
    )
    .optional(),
});

export type ValidatedSpdxDocument = z.infer<typeof document>;

/** Problems with the license field value `v` (NOASSERTION, NONE or an SPDX 2.3 expression). */
function licenseFieldProblems(v: string, definedRefs: ReadonlySet<string>): string[] {
  if (v === "NOASSERTION" || v === "NONE") return [];
  const ast = parseLicenseExpression(v);
  if (!ast) return [`not an SPDX license expression: ${JSON.stringify(v)}`];
  // The parser accepts lower-case operators; SPDX 2.3 requires AND, OR, WITH in upper case.
  for (const m of v.matchAll(/(?:^|[\s()])(and|or|with)(?=[\s()]|$)/gi)) {
    if (m[1] !== m[1]!.toUpperCase()) return [`operator ${m[1]} must be upper case in ${JSON.stringify(v)}`];
  }
  return licenseRefs(ast)
    .filter((r) => !definedRefs.has(r))
    .map((r) => `${r} is used but not defined in hasExtractedLicensingInfos`);
}

/** Validates an SPDX 2.3 JSON document; returns its problems, none when valid. */
export function validateSpdx(json: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    return [`not JSON: ${(e as Error).message}`];
  }
  const parsed = document.safeParse(data);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.join(".") || "(document)"}: ${i.message}`);
  }
  const doc = parsed.data;
  const problems: string[] = [];

  try {
    const u = new URL(doc.documentNamespace);
    if (u.hash || doc.documentNamespace.includes("#"))
      problems.push("documentNamespace must not contain '#'");
  } catch {
    problems.push(`documentNamespace is not an absolute URI: ${doc.documentNamespace}`);
  }

  const ids = new Set<string>(["SPDXRef-DOCUMENT"]);
  for (const p of doc.packages ?? []) {
    if (ids.has(p.SPDXID)) problems.push(`duplicate SPDXID ${p.SPDXID}`);
    ids.add(p.SPDXID);
  }

  const refs = new Set<string>();
  for (const info of doc.hasExtractedLicensingInfos ?? []) {
    if (refs.has(info.licenseId)) problems.push(`duplicate licenseId ${info.licenseId}`);
    refs.add(info.licenseId);
  }

  for (const p of doc.packages ?? []) {
    for (const field of ["licenseConcluded", "licenseDeclared"] as const) {
      const v = p[field];
      if (v !== undefined)
        problems.push(...licenseFieldProblems(v, refs).map((m) => `${p.SPDXID}.${field}: ${m}`));
    }
    for (const ref of p.externalRefs ?? []) {
      if (ref.referenceType === "purl" && !/^pkg:[a-zA-Z][a-zA-Z0-9.+-]*\/\S+$/.test(ref.referenceLocator)) {
        problems.push(`${p.SPDXID}: invalid purl locator ${ref.referenceLocator}`);
      }
    }
  }

  let describes = 0;
  for (const r of doc.relationships ?? []) {
    for (const end of [r.spdxElementId, r.relatedSpdxElement]) {
      if (!ids.has(end)) problems.push(`relationship ${r.relationshipType} refers to unknown element ${end}`);
    }
    if (r.relationshipType === "DESCRIBES" && r.spdxElementId === "SPDXRef-DOCUMENT") describes++;
  }
  if (describes === 0) problems.push("the document DESCRIBES no element");
  return problems;
}
