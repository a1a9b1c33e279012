import type { Advisory, Affected, SeverityScore } from "../types.js";
import { cveAtStart, cvesInText, isCve } from "../../core/cve.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";
import {
  advisoryItem,
  baseName,
  decompress,
  ecosystemRange,
  guarded,
  isBzip2Head,
  isoDate,
  memberPath,
  num,
  peekText,
  problemItem,
  uniquePush,
} from "./native-feed-common.js";
import {
  attr,
  child,
  children,
  readOval,
  text,
  type OvalDefinition,
  type OvalDocument,
} from "./oval-model.js";

/**
 * OVAL definition files of four vendors, evaluated into (package, fixed version) pairs
 * (oval-model.ts) and mapped onto advisories:
 *
 * - Ubuntu USN OVAL (`com.ubuntu.<codename>.usn.oval.xml`): one Advisory per USN (patch
 *   definition), CVEs as aliases with Ubuntu's CVSS vectors. Tests name **binary** packages
 *   (a constant variable lists every binary of the update; the source package is not in the
 *   file): one Affected per binary, `package` = the binary, `binaries` = the binaries of that
 *   test. Kernel definitions test the running kernel (uname/variable tests), not packages, and
 *   yield no advisory.
 * - Red Hat RHSA (v1 `com.redhat.rhsa-RHEL9.xml`, v2 `rhel-9.oval.xml`) and Rocky RLSA: one
 *   Advisory per RHSA/RHBA/RLSA, CVEs as aliases (Rocky names them only in the description),
 *   binary RPM names (`binaries` = [package]).
 * - Azure Linux (`azurelinux-3.0-oval.xml`): one vulnerability definition per CVE × package;
 *   grouped into one Advisory per CVE. Names are the spec (source) packages.
 *
 * Fixed versions keep a non-zero epoch (`1:1.8.0-1.el9`) and drop `0:`, which every dpkg/rpm
 * comparison treats as no epoch.
 */

const FEED = "oval";

type Vendor = "ubuntu" | "redhat" | "rocky" | "azurelinux";

const SOURCES: Record<Vendor, string> = {
  ubuntu: "ubuntu-oval",
  redhat: "redhat-oval",
  rocky: "rocky-oval",
  azurelinux: "azurelinux-oval",
};

/** Ubuntu codenames to VERSION_ID, for files that do not say (the inventory title does). */
const UBUNTU_RELEASES = new Map(
  Object.entries({
    trusty: "14.04",
    xenial: "16.04",
    bionic: "18.04",
    focal: "20.04",
    jammy: "22.04",
    noble: "24.04",
    oracular: "24.10",
    plucky: "25.04",
    questing: "25.10",
  }),
);

export const ovalUpstream = [
  ...["noble", "jammy", "focal"].map((c) => ({
    url: `https://security-metadata.canonical.com/oval/com.ubuntu.${c}.usn.oval.xml.bz2`,
    mirrorPath: `ubuntu/com.ubuntu.${c}.usn.oval.xml.bz2`,
  })),
  ...["9", "8"].map((v) => ({
    url: `https://access.redhat.com/security/data/oval/v2/RHEL${v}/rhel-${v}.oval.xml.bz2`,
    mirrorPath: `rhel/rhel-${v}.oval.xml.bz2`,
  })),
  ...["9", "8"].map((v) => ({
    url: `https://dl.rockylinux.org/pub/oval/org.rockylinux.rlsa-${v}.xml.bz2`,
    mirrorPath: `rocky/org.rockylinux.rlsa-${v}.xml.bz2`,
  })),
  {
    url: "https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main/azurelinux-3.0-oval.xml",
    mirrorPath: "azurelinux/azurelinux-3.0-oval.xml",
  },
];

function vendorOf(doc: OvalDocument): Vendor | undefined {
  const ids = doc.definitions.map((d) => d.id);
  const product = text(child(doc.generator, "product_name")) ?? "";
  const has = (prefix: string) => ids.some((id) => id.startsWith(prefix));
  if (has("oval:com.ubuntu.")) return "ubuntu";
  if (has("oval:com.redhat.")) return "redhat";
  if (has("oval:org.rockylinux.")) return "rocky";
  if (has("oval:com.microsoft.azurelinux") || /Azure Linux/.test(product)) return "azurelinux";
  return undefined;
}

/**
 * The major release of a Red Hat-family file, from what the file says about itself: the
 * `<distro>-release` version pattern of its OS check (`^9[^\d]`), the platform or CPE, then
 * the file name.
 */
function rpmRelease(doc: OvalDocument, releasePackage: string, name: string): string | undefined {
  for (const { kind, node } of doc.states.values()) {
    if (kind !== "rpmverifyfile_state") continue;
    if (!(text(child(node, "name")) ?? "").includes(releasePackage)) continue;
    const m = /^\^?(\d+)/.exec(text(child(node, "version")) ?? "");
    if (m) return m[1];
  }
  for (const d of doc.definitions) {
    const platform = text(child(child(d.metadata, "affected"), "platform")) ?? "";
    const m = /Enterprise Linux (\d+)|Rocky Linux (\d+)/.exec(platform);
    if (m) return m[1] ?? m[2];
    const cpe = /^cpe:\/o:rocky:rocky:(\d+)/.exec(attr(child(d.metadata, "advisory"), "from") ?? "");
    if (cpe) return cpe[1];
  }
  return /(?:RHEL|rhel-|rlsa-)(\d+)/.exec(name)?.[1];
}

function ecosystemOf(vendor: Vendor, doc: OvalDocument, name: string): string | undefined {
  switch (vendor) {
    case "ubuntu": {
      for (const d of doc.definitions) {
        if (d.class !== "inventory") continue;
        const m = /Ubuntu (\d+\.\d+)/.exec(text(child(d.metadata, "title")) ?? "");
        if (m) return `ubuntu:${m[1]}`;
      }
      const codename = /^oval:com\.ubuntu\.([a-z]+):/.exec(doc.definitions[0]?.id ?? "")?.[1];
      const v = codename ? UBUNTU_RELEASES.get(codename) : undefined;
      return v ? `ubuntu:${v}` : undefined;
    }
    case "redhat": {
      const v = rpmRelease(doc, "redhat-release", name);
      return v ? `rhel:${v}` : undefined;
    }
    case "rocky": {
      const v = rpmRelease(doc, "rocky-release", name);
      return v ? `rocky:${v}` : undefined;
    }
    case "azurelinux": {
      const m = /azurelinux-(\d+\.\d+)/.exec(name);
      if (m) return `azurelinux:${m[1]}`;
      // Every fixed release carries the distro tag: 2.6.7-3.azl3.
      for (const d of doc.definitions)
        for (const p of d.pairs) {
          const tag = /\.azl(\d+)$/.exec(p.evr);
          if (tag) return `azurelinux:${tag[1]}.0`;
        }
      return undefined;
    }
  }
}

/** `0:1.2-3` → `1.2-3`; other epochs stay. */
export function dropZeroEpoch(evr: string): string {
  return evr.startsWith("0:") ? evr.slice(2) : evr;
}

function references(metadata: OvalDefinition["metadata"]): { type?: string; url: string }[] {
  const out: { type?: string; url: string }[] = [];
  for (const r of children(metadata, "reference")) {
    const url = attr(r, "ref_url");
    if (url && !out.some((x) => x.url === url))
      out.push({ type: attr(r, "source") === "CVE" ? "WEB" : "ADVISORY", url });
  }
  return out;
}

function refIds(metadata: OvalDefinition["metadata"], source: string): string[] {
  const out: string[] = [];
  for (const r of children(metadata, "reference"))
    if (attr(r, "source") === source) {
      const id = attr(r, "ref_id");
      if (id) uniquePush(out, id);
    }
  return out;
}

function cvssType(vector: string): SeverityScore["type"] {
  if (vector.startsWith("CVSS:4")) return "CVSS_V4";
  if (vector.startsWith("CVSS:3")) return "CVSS_V3";
  return "CVSS_V2";
}

function pushScore(
  list: SeverityScore[],
  vector: string | undefined,
  score: number | undefined,
  source: string,
) {
  if (!vector) return;
  if (list.some((s) => s.vector === vector && s.score === score)) return;
  const s: SeverityScore = { type: cvssType(vector), vector, source };
  if (score !== undefined) s.score = score;
  list.push(s);
}

/** The metadata every patch definition shares: title, description, dates, references. */
function baseAdvisory(def: OvalDefinition, id: string, source: string): Advisory {
  const advisory: Advisory = { id, source, aliases: [], affected: [] };
  const title = text(child(def.metadata, "title"));
  if (title) advisory.summary = title;
  const description = text(child(def.metadata, "description"));
  if (description) advisory.details = description;
  const adv = child(def.metadata, "advisory");
  const severity = text(child(adv, "severity"));
  if (severity) advisory.severity = severity;
  const issued = isoDate(attr(child(adv, "issued"), "date"));
  if (issued) advisory.published = issued;
  const updated = isoDate(attr(child(adv, "updated"), "date"));
  if (updated) advisory.modified = updated;
  const refs = references(def.metadata);
  if (refs.length > 0) advisory.references = refs;
  return advisory;
}

function patchAdvisory(
  vendor: Exclude<Vendor, "azurelinux">,
  def: OvalDefinition,
  ecosystem: string,
): Advisory {
  const source = SOURCES[vendor];
  const own = refIds(def.metadata, vendor === "ubuntu" ? "USN" : vendor === "rocky" ? "RLSA" : "RHSA");
  // The title starts with the id too: "USN-7000-1 -- Expat …", "RHSA-2022:1728: …".
  const title = text(child(def.metadata, "title")) ?? "";
  const id = own[0] ?? /^([A-Z]+-[\d:-]+)/.exec(title)?.[1] ?? def.id;
  const advisory = baseAdvisory(def, id, source);
  const adv = child(def.metadata, "advisory");
  const cvss: SeverityScore[] = [];
  for (const cve of refIds(def.metadata, "CVE")) uniquePush(advisory.aliases, cve);
  for (const c of children(adv, "cve")) {
    const cve = text(c);
    if (cve && isCve(cve)) uniquePush(advisory.aliases, cve);
    // Ubuntu: cvss_score + cvss_vector; Red Hat: cvss3="9.3/CVSS:3.1/…", cvss2="5.0/AV:N/…".
    pushScore(cvss, attr(c, "cvss_vector"), num(attr(c, "cvss_score")), source);
    for (const key of ["cvss3", "cvss2", "cvss4"]) {
      const v = attr(c, key);
      const slash = v?.indexOf("/") ?? -1;
      if (v && slash > 0) pushScore(cvss, v.slice(slash + 1), num(v.slice(0, slash)), source);
    }
  }
  // Rocky's RLSA definitions name their CVEs only in the description.
  if (vendor === "rocky")
    for (const id of cvesInText(advisory.details ?? "")) uniquePush(advisory.aliases, id);
  if (cvss.length > 0) advisory.cvss = cvss;
  if (!advisory.severity && vendor === "ubuntu") {
    // Ubuntu's definition severity is normally there; else the highest CVE priority.
    const order = ["negligible", "low", "medium", "high", "critical"];
    let best = -1;
    for (const c of children(adv, "cve")) best = Math.max(best, order.indexOf(attr(c, "priority") ?? ""));
    if (best >= 0) advisory.severity = order[best];
  }
  for (const p of def.pairs) {
    const fixed = dropZeroEpoch(p.evr);
    for (const name of p.names) {
      const affected: Affected = {
        ecosystem,
        package: name,
        status: "affected",
        ranges: [ecosystemRange(fixed)],
        binaries: vendor === "ubuntu" ? [...p.names] : [name],
      };
      if (advisory.severity) affected.severity = advisory.severity;
      advisory.affected.push(affected);
    }
  }
  return advisory;
}

const AZURE_SEVERITY = ["Low", "Medium", "High", "Critical"];

function* azureAdvisories(doc: OvalDocument, ecosystem: string, name: string): Generator<ImportItem> {
  const source = SOURCES.azurelinux;
  const byCve = new Map<string, Advisory>();
  for (const def of doc.definitions) {
    if (def.class !== "vulnerability") continue;
    const cve = refIds(def.metadata, "CVE")[0] ?? cveAtStart(text(child(def.metadata, "title")) ?? "");
    if (!cve || def.pairs.length === 0) {
      yield problemItem(FEED, name, `${def.id}: no CVE reference or no package test`);
      continue;
    }
    let advisory = byCve.get(cve);
    if (!advisory) {
      advisory = baseAdvisory(def, cve, source);
      const date = isoDate(text(child(def.metadata, "advisory_date")));
      if (date) advisory.published = date;
      byCve.set(cve, advisory);
    }
    const severity = text(child(def.metadata, "severity"));
    if (severity && AZURE_SEVERITY.indexOf(severity) > AZURE_SEVERITY.indexOf(advisory.severity ?? ""))
      advisory.severity = severity;
    // patchable: "true" (fixed in the EVR), "Not Applicable" (never affected), "false" (no fix).
    const patchable = text(child(def.metadata, "patchable"));
    for (const p of def.pairs)
      for (const pkg of p.names) {
        const affected: Affected =
          patchable === "Not Applicable"
            ? { ecosystem, package: pkg, status: "not_affected", ranges: [] }
            : patchable === "false"
              ? { ecosystem, package: pkg, status: "affected", ranges: [ecosystemRange()] }
              : {
                  ecosystem,
                  package: pkg,
                  status: "affected",
                  ranges: [ecosystemRange(dropZeroEpoch(p.evr))],
                };
        if (severity) affected.severity = severity;
        advisory.affected.push(affected);
      }
  }
  for (const a of byCve.values()) yield advisoryItem(a);
}

function* parseOvalDocument(doc: FeedDocument): Generator<ImportItem> {
  // A corrupt compressed stream throws out of here: `guarded` reports it.
  const xml = decompress(doc.content).toString("utf8");
  let model: OvalDocument;
  try {
    model = readOval(xml);
  } catch (e) {
    yield problemItem(FEED, doc.name, e instanceof Error ? e.message : String(e));
    return;
  }
  const vendor = vendorOf(model);
  if (!vendor) {
    yield problemItem(FEED, doc.name, "unknown OVAL vendor (not Ubuntu, Red Hat, Rocky or Azure Linux)");
    return;
  }
  const ecosystem = ecosystemOf(vendor, model, memberPath(doc.name));
  if (!ecosystem) {
    yield problemItem(FEED, doc.name, `cannot tell which ${vendor} release this file covers`);
    return;
  }
  for (const def of model.definitions)
    if (def.dangling.length > 0)
      yield problemItem(
        FEED,
        doc.name,
        `${def.id}: references missing from the file: ${def.dangling.join(" ")}`,
      );
  if (vendor === "azurelinux") {
    yield* azureAdvisories(model, ecosystem, doc.name);
    return;
  }
  for (const def of model.definitions) {
    if (def.class === "inventory") continue;
    if (def.class !== "patch") {
      yield {
        kind: "skipped",
        document: doc.name,
        reason: `${def.id}: class "${def.class}" (only patch definitions are imported)`,
      };
      continue;
    }
    // Kernel definitions test the running kernel (uname/variable tests), not a package.
    if (def.pairs.length === 0) {
      yield {
        kind: "skipped",
        document: doc.name,
        reason: `${def.id}: no package test (running-kernel checks only)`,
      };
      continue;
    }
    yield advisoryItem(patchAdvisory(vendor, def, ecosystem));
  }
}

export const ovalImporter: FeedImporter = {
  id: FEED,
  upstream: ovalUpstream,
  recognizes({ name, head }) {
    const path = memberPath(name);
    if (!/\.xml(?:\.gz|\.bz2)?$/.test(path)) return false;
    // A .bz2 head cannot be peeked cheaply: the vendors' file names decide.
    if (isBzip2Head(head)) return /(?:oval|rhsa|rlsa)[^/]*\.xml\.bz2$/i.test(baseName(path));
    return /<(?:[\w-]+:)?oval_definitions[\s>]/.test(peekText(head, 2048));
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseOvalDocument(doc));
  },
};
