import { attr, manifestValue, type Manifest } from "./manifest.js";

/**
 * Maven coordinates of an archive that carries no pom.properties of its own, from its
 * MANIFEST.MF and its file name. This is a best guess and records where each part came from.
 */

export interface GuessedIdentity {
  groupId: string;
  artifactId: string;
  version: string;
  /** Where the version came from: "manifest" or "file-name". */
  identity: "manifest" | "file-name";
  groupIdFrom: string;
}

/** `log4j-core-2.19.0.jar` → {name: "log4j-core", version: "2.19.0"}: the version starts at the first `-<digit>`. */
export function splitArchiveFileName(fileName: string): { name: string; version?: string } {
  const base = fileName.replace(/\.[A-Za-z]{3}$/, "");
  const m = /-(?=\d)/.exec(base);
  if (!m) return { name: base };
  return { name: base.slice(0, m.index), version: base.slice(m.index + 1) };
}

const ID_LIKE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Artifacts published under groupId == artifactId (pre-2005 Maven 1 conventions) whose manifests
 * name no group; a heuristic group would be wrong and their advisories (keyed `group:artifact`)
 * would not match. Only widely deployed ones with known advisories are listed.
 */
const LEGACY_GROUPS: Readonly<Record<string, string>> = {
  log4j: "log4j",
  "commons-beanutils": "commons-beanutils",
  "commons-collections": "commons-collections",
  "commons-codec": "commons-codec",
  "commons-fileupload": "commons-fileupload",
  "commons-httpclient": "commons-httpclient",
  "commons-io": "commons-io",
  "commons-lang": "commons-lang",
  "commons-logging": "commons-logging",
  "commons-net": "commons-net",
  dom4j: "dom4j",
  junit: "junit",
  xalan: "xalan",
  xercesImpl: "xerces",
  xstream: "com.thoughtworks.xstream",
};

/** A manifest version value, cleaned: `1.3 2244 October 5 2005` → `1.3`; unexpanded `${...}` → none. */
function cleanVersion(v: string | undefined): string | undefined {
  if (!v || v.includes("${")) return undefined;
  const first = v.trim().split(/\s+/)[0];
  return first ? first : undefined;
}

/** Bundle-SymbolicName without its directives: `org.foo.bar;singleton:=true` → `org.foo.bar`. */
function symbolicName(m: Manifest): string | undefined {
  const bsn = manifestValue(m, "Bundle-SymbolicName")?.split(";")[0]?.trim();
  return bsn && ID_LIKE.test(bsn) ? bsn : undefined;
}

export function guessIdentity(m: Manifest | undefined, fileName: string): GuessedIdentity | null {
  const file = splitArchiveFileName(fileName);
  const get = (k: string) => (m ? manifestValue(m, k) : undefined);
  const idLike = (v: string | undefined) => (v && ID_LIKE.test(v) ? v : undefined);

  // Jenkins plugins (.hpi/.jpi) state their Maven coordinates in the main section.
  if (m) {
    const shortName = attr(m.main, "Short-Name");
    const pluginVersion = cleanVersion(attr(m.main, "Plugin-Version"));
    if (shortName && pluginVersion) {
      const groupId = attr(m.main, "Group-Id") ?? "org.jenkins-ci.plugins";
      return {
        groupId,
        artifactId: shortName,
        version: pluginVersion,
        identity: "manifest",
        groupIdFrom: "Group-Id",
      };
    }
  }

  const bsn = m ? symbolicName(m) : undefined;
  // Implementation-Title is often a display name ("Apache Commons Lang"); only an id-like one
  // is an artifactId. The file name is next: it usually is `<artifactId>-<version>.jar`.
  const artifactId =
    idLike(get("Implementation-Title")) ??
    (file.name || undefined) ??
    (bsn ? bsn.slice(bsn.lastIndexOf(".") + 1) : undefined) ??
    idLike(get("Bundle-Name")) ??
    idLike(get("Specification-Title"));
  if (!artifactId) return null;

  const manifestVersion = cleanVersion(get("Implementation-Version")) ?? cleanVersion(get("Bundle-Version"));
  const specVersion = cleanVersion(get("Specification-Version"));
  let version: string | undefined;
  let identity: GuessedIdentity["identity"] = "manifest";
  if (manifestVersion) version = manifestVersion;
  else if (file.version) {
    version = file.version;
    identity = "file-name";
  } else version = specVersion;
  if (!version) return null;

  let groupId: string | undefined;
  let groupIdFrom = "Implementation-Vendor-Id";
  const vendorId = get("Implementation-Vendor-Id");
  if (vendorId && ID_LIKE.test(vendorId)) groupId = vendorId;
  else if (LEGACY_GROUPS[artifactId]) {
    groupId = LEGACY_GROUPS[artifactId];
    groupIdFrom = "known artifact";
  } else if (bsn && bsn.includes(".")) {
    // `com.fasterxml.jackson.core.jackson-databind` → `com.fasterxml.jackson.core`: right for
    // most bundles, though not all (the symbolic name is not a Maven coordinate).
    groupId = bsn.slice(0, bsn.lastIndexOf("."));
    groupIdFrom = "Bundle-SymbolicName";
  } else {
    // Maven's old convention, and what syft assumes as well.
    groupId = artifactId;
    groupIdFrom = "artifactId";
  }
  return { groupId, artifactId, version, identity, groupIdFrom };
}

/**
 * Licenses a manifest declares: Bundle-License (OSGi: a comma-separated list of names or URLs
 * with `;` attributes; a value with spaces is one free-text name, as "Apache License, Version
 * 2.0" shows) or a Jenkins plugin's Plugin-License-Name.
 */
export function manifestLicenses(m: Manifest | undefined): string[] {
  if (!m) return [];
  const bundle = attr(m.main, "Bundle-License");
  if (bundle) {
    if (/\s/.test(bundle.split(";")[0]!)) return [bundle];
    return bundle
      .split(",")
      .map((s) => s.split(";")[0]!.trim())
      .filter(Boolean);
  }
  const plugin = attr(m.main, "Plugin-License-Name");
  return plugin ? [plugin] : [];
}
