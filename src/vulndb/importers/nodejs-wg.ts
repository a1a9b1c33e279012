import type { Advisory, NativeRange, SeverityScore } from "../types.js";
import { isCve } from "../../core/cve.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";
import {
  advisoryItem,
  decompress,
  baseName,
  guarded,
  isoDate,
  isRecord,
  loadJson,
  memberPath,
  num,
  peekText,
  problemItem,
  str,
  strList,
} from "./native-feed-common.js";

/**
 * The Node.js Security WG's legacy advisories (nodejs/security-wg, `vuln/`), frozen since 2020:
 *
 * - `vuln/npm/<id>.json`: npm packages (the old Node Security Project database):
 *   `module_name`, node-semver `vulnerable_versions` / `patched_versions`, `cvss_vector`.
 *   Ecosystem `npm`, id `NSWG-ECO-<id>` (the name the WG publishes them under), CVEs as
 *   aliases; NativeRange {vulnerable, unaffected: [patched]}.
 * - `vuln/core/<n>.json`: the Node.js runtime itself. Ecosystem `node-runtime`, package
 *   `node`, id `NSWG-CORE-<n>`, same range shape (`vulnerable: "14.x || 16.x"`,
 *   `patched: "^14.20.1 || ^16.17.1"`). They match only where a cataloger reports the runtime.
 * - `vuln/deps/`: CVEs in bundled dependencies that the WG assessed as *not* affecting Node;
 *   `index.json` files repeat the records. Neither is recognized.
 */

const FEED = "nodejs-wg";

export const nodejsWgUpstream = [
  {
    url: "https://github.com/nodejs/security-wg/archive/refs/heads/main.tar.gz",
    mirrorPath: "nodejs/security-wg.tar.gz",
  },
];

const PATH_RE = /(?:^|\/)vuln\/(npm|core)\/(\d+)\.json$/;

function cvssScore(vector: string | undefined, score: number | undefined): SeverityScore[] {
  if (!vector) return [];
  const type = vector.startsWith("CVSS:4") ? "CVSS_V4" : vector.startsWith("CVSS:3") ? "CVSS_V3" : "CVSS_V2";
  const s: SeverityScore = { type, vector, source: FEED };
  if (score !== undefined) s.score = score;
  return [s];
}

function range(vulnerable: string | undefined, patched: string | undefined): NativeRange {
  const r: NativeRange = { type: "NATIVE" };
  if (vulnerable) r.vulnerable = vulnerable;
  r.unaffected = patched ? [patched] : [];
  return r;
}

function* parseRecord(doc: FeedDocument): Generator<ImportItem> {
  const m = PATH_RE.exec(memberPath(doc.name));
  const kind = m?.[1] ?? "npm";
  const json = loadJson(decompress(doc.content).toString("utf8"));
  if (!json.ok) {
    yield problemItem(FEED, doc.name, json.error);
    return;
  }
  const j = json.value;
  if (!isRecord(j)) {
    yield problemItem(FEED, doc.name, "not an object");
    return;
  }
  const refs = (urls: string[]) => urls.map((url) => ({ type: "WEB", url }));

  if (kind === "npm") {
    const module = str(j.module_name);
    const vulnerable = str(j.vulnerable_versions);
    const n = typeof j.id === "number" ? String(j.id) : (str(j.id) ?? m?.[2]);
    if (!module || !vulnerable || !n) {
      yield problemItem(FEED, doc.name, "module_name, vulnerable_versions or id missing");
      return;
    }
    const advisory: Advisory = {
      id: `NSWG-ECO-${n}`,
      source: FEED,
      aliases: strList(j.cves).filter((c) => isCve(c)),
      affected: [{ ecosystem: "npm", package: module, ranges: [range(vulnerable, str(j.patched_versions))] }],
    };
    const title = str(j.title);
    if (title) advisory.summary = title;
    const details = [str(j.overview), str(j.recommendation)].filter((x) => x !== undefined).join("\n\n");
    if (details) advisory.details = details;
    const published = isoDate(j.publish_date);
    if (published) advisory.published = published;
    const modified = isoDate(j.updated_at);
    if (modified) advisory.modified = modified;
    const cvss = cvssScore(str(j.cvss_vector), num(j.cvss_score));
    if (cvss.length > 0) advisory.cvss = cvss;
    const references = refs(strList(j.references));
    if (references.length > 0) advisory.references = references;
    yield advisoryItem(advisory);
    return;
  }

  const vulnerable = str(j.vulnerable);
  const n = m?.[2] ?? baseName(memberPath(doc.name)).replace(/\.json$/, "");
  if (!vulnerable) {
    yield problemItem(FEED, doc.name, "vulnerable missing");
    return;
  }
  const advisory: Advisory = {
    id: `NSWG-CORE-${n}`,
    source: FEED,
    aliases: strList(j.cve).filter((c) => isCve(c)),
    affected: [{ ecosystem: "node-runtime", package: "node", ranges: [range(vulnerable, str(j.patched))] }],
  };
  const severity = str(j.severity);
  if (severity && severity !== "unknown") {
    advisory.severity = severity;
    advisory.affected[0]!.severity = severity;
  }
  const summary = str(j.description);
  if (summary) advisory.summary = summary;
  const overview = str(j.overview);
  if (overview) advisory.details = overview;
  const published = isoDate(j.publish_date);
  if (published) advisory.published = published;
  const cvss = cvssScore(str(j.cvss), num(j.cvss_score));
  if (cvss.length > 0) advisory.cvss = cvss;
  const references = refs(strList(j.ref));
  if (references.length > 0) advisory.references = references;
  yield advisoryItem(advisory);
}

export const nodejsWgImporter: FeedImporter = {
  id: FEED,
  upstream: nodejsWgUpstream,
  recognizes({ name, head }) {
    return PATH_RE.test(memberPath(name)) && /^\s*\{/.test(peekText(head, 64));
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseRecord(doc));
  },
};
