import { randomUUID } from "node:crypto";
import { Enums, Models, Serialize, Spec, Validation } from "@cyclonedx/cyclonedx-library";
import type { Package } from "../catalog/types.js";
import type { ImageInventory } from "../image/types.js";
import type { Finding } from "../findings/finding.js";
import {
  distroProperties,
  imageProperties,
  packageEntries,
  packageProperties,
  problemProperties,
  PROP,
  type Property,
  type SbomOptions,
} from "./entries.js";
import { imagePurl } from "./image-purl.js";
import { andJoin, classifyLicense, cleanLicenses } from "./licenses.js";
import { TOOL_NAME, TOOL_VERSION } from "./tool.js";

/**
 * CycloneDX 1.6 JSON for one platform image (1.4 on request: Inspector2's SBOM exports), built
 * with the format's own library so that the output follows each version's rules (license
 * choice, tools shape, escaping) without our re-typing them. See docs/sbom.md for the component
 * layout and property names.
 */

const SPECS = { "1.6": Spec.Spec1dot6, "1.4": Spec.Spec1dot4 } as const;

function properties(props: readonly Property[]): Models.PropertyRepository {
  return new Models.PropertyRepository(props.map(([n, v]) => new Models.Property(n, v)));
}

/**
 * A component's licenses. CycloneDX takes either a list of single licenses (id or name) or
 * exactly one expression, never both; the library would silently drop the singles if we mixed
 * them, so we decide here:
 * - one string: an SPDX id, else a valid expression, else a name;
 * - several strings that are all SPDX (ids or expressions) and include an expression: one
 *   expression joining them with AND (each string was declared, so all of them apply);
 * - otherwise each string on its own, ids as ids and everything else (expressions included)
 *   as names, so no declared text is lost.
 */
export function cyclonedxLicenses(raw: readonly string[] | undefined): Models.License[] {
  const classified = cleanLicenses(raw).map(classifyLicense);
  if (classified.length === 0) return [];
  if (classified.length === 1 && classified[0]!.kind === "expression") {
    return [new Models.LicenseExpression(classified[0]!.expression)];
  }
  const hasExpression = classified.some((c) => c.kind === "expression");
  if (hasExpression && classified.every((c) => c.kind !== "name")) {
    const parts = [
      ...new Set(
        classified.map((c) => (c.kind === "id" ? c.id : c.kind === "expression" ? c.expression : "")),
      ),
    ];
    return [new Models.LicenseExpression(andJoin(parts))];
  }
  const seen = new Set<string>();
  const out: Models.License[] = [];
  for (const c of classified) {
    const key = c.kind === "id" ? `id:${c.id}` : `name:${c.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c.kind === "id" ? new Models.SpdxLicense(c.id) : new Models.NamedLicense(c.text));
  }
  return out;
}

function packageComponent(pkg: Package, ref: string): Models.Component {
  const props = packageProperties(pkg).map(
    // The CycloneDX taxonomy has an official name for npm development dependencies.
    ([n, v]): Property =>
      n === PROP.development && pkg.ecosystem === "npm" ? ["cdx:npm:package:development", v] : [n, v],
  );
  return new Models.Component(Enums.ComponentType.Library, pkg.name, {
    bomRef: ref,
    version: pkg.version,
    purl: pkg.purl,
    licenses: new Models.LicenseRepository(cyclonedxLicenses(pkg.licenses)),
    properties: properties(props),
  });
}

function hashOf(digest: string): Models.HashDictionary {
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(digest);
  if (!m) return new Models.HashDictionary();
  const alg = m[1] === "sha256" ? Enums.HashAlgorithm["SHA-256"] : Enums.HashAlgorithm["SHA-512"];
  return new Models.HashDictionary([[alg, m[2]!]]);
}

/** The BOM model (exposed for callers that want to add to it before serializing). */
export function buildCycloneDxBom(inv: ImageInventory, opts: SbomOptions = {}): Models.Bom {
  const image = inv.image;
  const ref = imagePurl(image);
  const imageComponent = new Models.Component(Enums.ComponentType.Container, image.reference, {
    bomRef: ref,
    version: image.manifestDigest,
    purl: ref,
    hashes: hashOf(image.manifestDigest),
    properties: properties(imageProperties(image)),
  });

  const tool = new Models.Component(Enums.ComponentType.Application, TOOL_NAME, {
    version: opts.toolVersion ?? TOOL_VERSION,
  });

  const bom = new Models.Bom({
    serialNumber: `urn:uuid:${opts.uuid ?? randomUUID()}`,
    metadata: new Models.Metadata({
      timestamp: opts.now ?? new Date(),
      tools: new Models.Tools({ components: new Models.ComponentRepository([tool]) }),
      component: imageComponent,
      properties: properties([...problemProperties(inv), ...(opts.metadataProperties ?? [])]),
    }),
  });

  if (inv.distro) {
    const d = inv.distro;
    bom.components.add(
      new Models.Component(Enums.ComponentType.OperatingSystem, d.id, {
        // Cannot collide with package refs: those are purls ("pkg:...").
        bomRef: `os:${d.id}@${d.versionId}`,
        version: d.versionId,
        description: d.prettyName,
        properties: properties(distroProperties(d)),
      }),
    );
  }
  for (const { pkg, ref: pkgRef } of packageEntries(inv.packages)) {
    bom.components.add(packageComponent(pkg, pkgRef));
  }
  return bom;
}

const normalizers = {
  "1.6": new Serialize.JSON.Normalize.Factory(SPECS["1.6"]).makeForBom(),
  "1.4": new Serialize.JSON.Normalize.Factory(SPECS["1.4"]).makeForBom(),
};

/**
 * CycloneDX JSON (1.6 unless `opts.cyclonedxVersion` says 1.4) for one image inventory; the same
 * input and options give the same text.
 */
export function toCycloneDxJson(inv: ImageInventory, opts: SbomOptions = {}): string {
  // sortLists stays off: the library sorts with localeCompare (machine-dependent) and would
  // scatter the image's ordered layer properties; our insertion order is already deterministic.
  const doc = normalizers[opts.cyclonedxVersion ?? "1.6"].normalize(buildCycloneDxBom(inv, opts), {
    sortLists: false,
  });
  // The library lists every component in the dependency graph, and in CycloneDX 1.6 an entry
  // without dependsOn asserts "has no dependencies". We do not know package dependencies, and
  // components absent from the graph mean "unknown", so we leave the graph out. (We call the
  // normalizer rather than the serializer for this; the serializer would only add temporary
  // bom-refs for components that lack one, and all of ours have one.)
  delete doc.dependencies;
  if (opts.vulnerabilities?.length) {
    (doc as unknown as Record<string, unknown>).vulnerabilities = cycloneDxVulnerabilities(
      inv,
      opts.vulnerabilities,
    );
  }
  return JSON.stringify(doc, null, 2);
}

const validators = {
  "1.6": new Validation.JsonStrictValidator(SPECS["1.6"].version),
  "1.4": new Validation.JsonStrictValidator(SPECS["1.4"].version),
};

/**
 * Validates a CycloneDX JSON document (1.6 unless told 1.4) against that version's strict JSON
 * schema (with formats). Resolves to null when valid, else to the validator's error details.
 */
export async function validateCycloneDx(json: string, version: "1.4" | "1.6" = "1.6"): Promise<unknown> {
  return validators[version].validate(json);
}

const RATING_METHOD: Record<string, string> = { CVSS_V2: "CVSSv2", CVSS_V3: "CVSSv31", CVSS_V4: "CVSSv4" };

/**
 * Findings as CycloneDX 1.6 `vulnerabilities`, one per vulnerability id, `affects` pointing at
 * the bom-refs of the package components (written directly in the schema's JSON shape: the
 * document is validated against the 1.6 schema in tests).
 */
export function cycloneDxVulnerabilities(inv: ImageInventory, findings: readonly Finding[]): unknown[] {
  const refs = new Map<string, string>();
  for (const { pkg, ref } of packageEntries(inv.packages)) {
    refs.set(`${pkg.purl}|${pkg.path}|${pkg.archivePath ?? ""}`, ref);
  }
  const byId = new Map<string, Finding[]>();
  for (const f of findings) byId.set(f.vulnerabilityId, [...(byId.get(f.vulnerabilityId) ?? []), f]);
  return [...byId.entries()].map(([id, list]) => {
    const f = list[0]!;
    const ratings = f.cvss.map((c) => ({
      ...(c.source ? { source: { name: c.source } } : {}),
      ...(c.score !== undefined ? { score: c.score } : {}),
      method: RATING_METHOD[c.type] ?? "other",
      vector: c.vector,
    }));
    if (f.severitySource === "vendor" && f.vendorSeverity) {
      ratings.push({
        source: { name: f.source },
        method: "other",
        severity: f.severity.toLowerCase(),
      } as never);
    }
    const affects = list
      .map((x) => refs.get(`${x.package.purl}|${x.package.path}|${x.package.archivePath ?? ""}`))
      .filter((r): r is string => r !== undefined)
      .map((ref) => ({ ref }));
    return {
      "bom-ref": `vuln:${id}`,
      id,
      source: { name: f.source },
      ...(ratings.length ? { ratings } : {}),
      ...(f.title ? { description: f.title } : {}),
      ...(f.description ? { detail: f.description } : {}),
      ...(f.fixedVersion
        ? { recommendation: `Upgrade ${f.package.name} to ${f.fixedVersion} or later` }
        : {}),
      ...(f.references.length ? { advisories: f.references.slice(0, 20).map((url) => ({ url })) } : {}),
      ...(affects.length ? { affects } : {}),
      properties: [
        { name: "drydock:finding:severity", value: f.severity },
        { name: "drydock:finding:fixAvailable", value: f.fixAvailable },
        ...(f.kev ? [{ name: "drydock:finding:kev", value: "true" }] : []),
        ...(f.epss ? [{ name: "drydock:finding:epss", value: String(f.epss.score) }] : []),
      ],
    };
  });
}
