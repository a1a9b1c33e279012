import { createHash, randomUUID } from "node:crypto";
import type { Package } from "../catalog/types.js";
import type { ImageInventory } from "../image/types.js";
import {
  distroProperties,
  imageProperties,
  packageEntries,
  packageProperties,
  problemProperties,
  type Property,
  type SbomOptions,
} from "./entries.js";
import { imagePurl } from "./image-purl.js";
import { andJoin, classifyLicense, cleanLicenses } from "./licenses.js";
import { TOOL_NAME, TOOL_VERSION } from "./tool.js";

/**
 * SPDX 2.3 JSON for one platform image, built by hand (there is no maintained SPDX 2.3 writer
 * for Node). The document DESCRIBES the image package, which CONTAINS the operating system and
 * every package. See docs/sbom.md.
 */

export const NOASSERTION = "NOASSERTION";

export interface SpdxChecksum {
  algorithm: "SHA256" | "SHA512";
  checksumValue: string;
}

export interface SpdxExternalRef {
  referenceCategory: "PACKAGE-MANAGER";
  referenceType: "purl";
  referenceLocator: string;
}

export interface SpdxAnnotation {
  annotationDate: string;
  annotationType: "OTHER";
  annotator: string;
  comment: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: string;
  licenseDeclared: string;
  primaryPackagePurpose?: "CONTAINER" | "OPERATING-SYSTEM";
  description?: string;
  sourceInfo?: string;
  checksums?: SpdxChecksum[];
  externalRefs?: SpdxExternalRef[];
  annotations?: SpdxAnnotation[];
}

export interface SpdxExtractedLicense {
  licenseId: string;
  extractedText: string;
  name: string;
  comment: string;
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: "DESCRIBES" | "CONTAINS";
  relatedSpdxElement: string;
}

export interface SpdxDocument {
  spdxVersion: "SPDX-2.3";
  dataLicense: "CC0-1.0";
  SPDXID: "SPDXRef-DOCUMENT";
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[]; comment?: string };
  packages: SpdxPackage[];
  hasExtractedLicensingInfos?: SpdxExtractedLicense[];
  relationships: SpdxRelationship[];
}

export const IMAGE_SPDXID = "SPDXRef-Image";
export const OS_SPDXID = "SPDXRef-OperatingSystem";

/** Replaces what an SPDX idstring cannot hold (anything but `[A-Za-z0-9.-]`) with `-`. */
export function spdxIdString(s: string, maxLength = 64): string {
  return s
    .replace(/[^A-Za-z0-9.-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, maxLength)
    .replace(/-+$/, "");
}

function shortHash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 16);
}

/**
 * Package SPDXIDs: readable (ecosystem and name) and stable (a hash of the package's unique
 * document ref, so the same package at the same place keeps its id from one scan to the next).
 */
function packageSpdxId(pkg: Package, ref: string, used: Set<string>): string {
  const name = spdxIdString(pkg.name);
  const base = `SPDXRef-Package-${pkg.ecosystem}-${name ? `${name}-` : ""}${shortHash(ref)}`;
  let id = base;
  for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
  used.add(id);
  return id;
}

/**
 * The document's LicenseRef-s. Every LicenseRef used in an expression must be defined in
 * hasExtractedLicensingInfos. Refs that packages wrote themselves ("LicenseRef-foo" inside a
 * valid expression) are reserved first, so a generated ref never takes their name.
 */
class LicenseRefs {
  readonly #byText = new Map<string, string>();
  readonly #infos = new Map<string, SpdxExtractedLicense>();

  constructor(declaredRefs: Iterable<string>) {
    for (const ref of declaredRefs) {
      this.#infos.set(ref, {
        licenseId: ref,
        extractedText: ref,
        name: ref,
        comment: "License reference declared by the package; its text was not available to Drydock.",
      });
    }
  }

  /** The LicenseRef for a free-text license string (same text, same ref). */
  refFor(text: string): string {
    const known = this.#byText.get(text);
    if (known) return known;
    const base = `LicenseRef-${spdxIdString(text) || shortHash(text)}`;
    let ref = base;
    for (let n = 2; this.#infos.has(ref); n++) ref = `${base}-${n}`;
    this.#byText.set(text, ref);
    this.#infos.set(ref, {
      licenseId: ref,
      extractedText: text,
      name: text,
      comment: "License string as declared by the package; it is not an SPDX license id or expression.",
    });
    return ref;
  }

  infos(): SpdxExtractedLicense[] {
    return [...this.#infos.values()];
  }
}

/**
 * licenseDeclared: every declared string applies, so they are joined with AND; SPDX ids and
 * valid expressions are kept (case-corrected, canonical), anything else becomes a LicenseRef
 * whose text is the original string. No strings: NOASSERTION.
 */
function declaredLicense(licenses: readonly string[] | undefined, refs: LicenseRefs): string {
  const parts = cleanLicenses(licenses).map((raw) => {
    const c = classifyLicense(raw);
    return c.kind === "id" ? c.id : c.kind === "expression" ? c.expression : refs.refFor(c.text);
  });
  return parts.length ? andJoin([...new Set(parts)]) : NOASSERTION;
}

/** An SPDX timestamp: UTC, whole seconds (the schema's pattern has no fractions). */
function spdxDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function checksumOf(digest: string): SpdxChecksum[] | undefined {
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(digest);
  if (!m) return undefined;
  return [{ algorithm: m[1] === "sha256" ? "SHA256" : "SHA512", checksumValue: m[2]! }];
}

export function buildSpdxDocument(inv: ImageInventory, opts: SbomOptions = {}): SpdxDocument {
  const created = spdxDate(opts.now ?? new Date());
  const tool = `Tool: ${TOOL_NAME}-${opts.toolVersion ?? TOOL_VERSION}`;
  // Drydock's own properties travel as one annotation per element, one `name=value` a line,
  // with the same names as the CycloneDX properties.
  const annotations = (props: readonly Property[]): SpdxAnnotation[] | undefined =>
    props.length
      ? [
          {
            annotationDate: created,
            annotationType: "OTHER",
            annotator: tool,
            comment: props.map(([n, v]) => `${n}=${v}`).join("\n"),
          },
        ]
      : undefined;

  const image = inv.image;
  const purl = imagePurl(image);
  const packages: SpdxPackage[] = [
    {
      SPDXID: IMAGE_SPDXID,
      name: image.reference,
      versionInfo: image.manifestDigest,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      primaryPackagePurpose: "CONTAINER",
      checksums: checksumOf(image.manifestDigest),
      externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: purl }],
      annotations: annotations(imageProperties(image)),
    },
  ];
  const relationships: SpdxRelationship[] = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: IMAGE_SPDXID },
  ];

  if (inv.distro) {
    packages.push({
      SPDXID: OS_SPDXID,
      name: inv.distro.id,
      versionInfo: inv.distro.versionId,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      primaryPackagePurpose: "OPERATING-SYSTEM",
      description: inv.distro.prettyName,
      annotations: annotations(distroProperties(inv.distro)),
    });
    relationships.push({
      spdxElementId: IMAGE_SPDXID,
      relationshipType: "CONTAINS",
      relatedSpdxElement: OS_SPDXID,
    });
  }

  const entries = packageEntries(inv.packages);
  const declaredRefs = new Set<string>();
  for (const { pkg } of entries) {
    for (const raw of cleanLicenses(pkg.licenses)) {
      const c = classifyLicense(raw);
      if (c.kind === "expression") c.refs.forEach((r) => declaredRefs.add(r));
    }
  }
  const licenseRefs = new LicenseRefs([...declaredRefs].sort());
  const usedIds = new Set<string>([IMAGE_SPDXID, OS_SPDXID]);

  for (const { pkg, ref } of entries) {
    const id = packageSpdxId(pkg, ref, usedIds);
    packages.push({
      SPDXID: id,
      name: pkg.name,
      versionInfo: pkg.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: declaredLicense(pkg.licenses, licenseRefs),
      // The form Trivy writes and reads back for OS packages built from a source package.
      sourceInfo: pkg.sourceName
        ? `built package from: ${pkg.sourceName}${pkg.sourceVersion ? ` ${pkg.sourceVersion}` : ""}`
        : undefined,
      externalRefs: [
        { referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: pkg.purl },
      ],
      annotations: annotations(packageProperties(pkg)),
    });
    relationships.push({ spdxElementId: IMAGE_SPDXID, relationshipType: "CONTAINS", relatedSpdxElement: id });
  }

  const problems = problemProperties(inv);
  const extracted = licenseRefs.infos();
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: image.reference,
    // SPDX's suggested form for creators without their own namespace host.
    documentNamespace: `https://spdx.org/spdxdocs/${spdxIdString(image.reference, 128) || "image"}-${opts.uuid ?? randomUUID()}`,
    creationInfo: {
      created,
      creators: [tool],
      comment: problems.length
        ? `Drydock could not read ${problems.length} file(s); the inventory may be incomplete:\n` +
          problems.map(([, v]) => v).join("\n")
        : undefined,
    },
    packages,
    hasExtractedLicensingInfos: extracted.length ? extracted : undefined,
    relationships,
  };
}

/** SPDX 2.3 JSON for one image inventory; the same input and options give the same text. */
export function toSpdxJson(inv: ImageInventory, opts: SbomOptions = {}): string {
  // JSON.stringify drops the undefined optional fields.
  return JSON.stringify(buildSpdxDocument(inv, opts), null, 2);
}
