import { isCve } from "../ecosystems.js";
import type { SeverityScore } from "../types.js";
import { scoreFromMetric } from "./cvss-metric.js";
import { topLevelArrayItems } from "./json-items.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";

/**
 * NVD CVSS scores into enrichment. Reads:
 * - JSON 1.1 data feeds (`nvdcve-1.1-*.json`, `CVE_Items[]`; retired 2023-12): NVD's own v3
 *   and v2 scores (source "nvd");
 * - JSON 2.0 data feeds (`nvdcve-2.0-*.json`, `vulnerabilities[].cve`) and the API's per-CVE
 *   objects: every metric, "nvd" for NVD's own (nvd@nist.gov), else the scorer's id (a CNA);
 * - one-item-per-line extracts (`.jsonl`) of either.
 * Rejected CVEs are skipped. Big feeds are read item by item (json-items.ts).
 */

const NVD_BASE = "https://nvd.nist.gov/feeds/json/cve/2.0";

function nvdUpstream(): { url: string; mirrorPath: string }[] {
  const names = ["modified", "recent"];
  for (let y = 2002; y <= new Date().getUTCFullYear(); y++) names.push(String(y));
  return names.map((n) => ({
    url: `${NVD_BASE}/nvdcve-2.0-${n}.json.gz`,
    mirrorPath: `enrichment/nvd/nvdcve-2.0-${n}.json.gz`,
  }));
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function problem(document: string, reason: string): ImportItem {
  return { kind: "problem", problem: { feed: "nvd", document, reason } };
}

/** JSON 1.1 `CVE_Items[]` element. */
function* item11(it: unknown, document: string): Generator<ImportItem> {
  const cve = obj(obj(it)?.cve);
  const id = obj(cve?.CVE_data_meta)?.ID;
  if (typeof id !== "string" || !isCve(id)) {
    yield problem(document, `item without a CVE id (${JSON.stringify(id)})`);
    return;
  }
  const desc = arr(obj(cve?.description)?.description_data)
    .map((d) => obj(d)?.value)
    .find((v) => typeof v === "string") as string | undefined;
  if (desc?.startsWith("** REJECT **")) {
    yield { kind: "skipped", document: `${document} (${id})`, reason: "rejected CVE" };
    return;
  }
  const impact = obj(obj(it)?.impact);
  const cvss: SeverityScore[] = [];
  for (const [metric, inner] of [
    ["baseMetricV3", "cvssV3"],
    ["baseMetricV2", "cvssV2"],
  ] as const) {
    const m = obj(obj(impact?.[metric])?.[inner]);
    if (!m) continue;
    try {
      cvss.push(scoreFromMetric(m.vectorString, m.baseScore, "nvd"));
    } catch (e) {
      yield problem(`${document} (${id})`, `${metric}: ${(e as Error).message}`);
    }
  }
  if (cvss.length) yield { kind: "enrichment", enrichment: { cve: id, cvss } };
}

/** JSON 2.0 `vulnerabilities[]` element (`{cve: {...}}`) or a bare API CVE object. */
function* item20(it: unknown, document: string): Generator<ImportItem> {
  const cve = obj(obj(it)?.cve) ?? obj(it);
  const id = cve?.id;
  if (typeof id !== "string" || !isCve(id)) {
    yield problem(document, `item without a CVE id (${JSON.stringify(id)})`);
    return;
  }
  if (cve?.vulnStatus === "Rejected") {
    yield { kind: "skipped", document: `${document} (${id})`, reason: "rejected CVE" };
    return;
  }
  const metrics = obj(cve?.metrics);
  const cvss: SeverityScore[] = [];
  for (const key of ["cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2"]) {
    for (const m of arr(metrics?.[key])) {
      const mo = obj(m);
      const data = obj(mo?.cvssData);
      const from = typeof mo?.source === "string" ? mo.source : "";
      const source = from === "nvd@nist.gov" || (mo?.type === "Primary" && !from) ? "nvd" : from || "cna";
      try {
        cvss.push(scoreFromMetric(data?.vectorString, data?.baseScore, source));
      } catch (e) {
        yield problem(`${document} (${id})`, `${key}: ${(e as Error).message}`);
      }
    }
  }
  if (cvss.length) yield { kind: "enrichment", enrichment: { cve: id, cvss } };
}

const FEED11_RE = /"(CVE_Items|CVE_data_type)"\s*:/;
const FEED20_RE = /"format"\s*:\s*"NVD_CVE"|"vulnerabilities"\s*:\s*\[\s*\{\s*"cve"/;
const ITEM11_RE = /^\s*\{\s*"cve"\s*:\s*\{\s*"data_type"\s*:\s*"CVE"/;
const ITEM20_RE = /^\s*\{\s*("cve"\s*:\s*\{\s*)?"id"\s*:\s*"CVE-[^"]+"\s*,\s*"sourceIdentifier"/;

export const nvdImporter: FeedImporter = {
  id: "nvd",
  upstream: nvdUpstream(),
  recognizes({ name, head }) {
    if (!/\.jsonl?$/i.test(name)) return false;
    const text = head.toString("utf8");
    return FEED11_RE.test(text) || FEED20_RE.test(text) || ITEM11_RE.test(text) || ITEM20_RE.test(text);
  },
  *parse(doc: FeedDocument): Iterable<ImportItem> {
    const head = doc.content.subarray(0, 4096).toString("utf8");
    if (/\.jsonl$/i.test(doc.name)) {
      // Line by line on the bytes: no copy of an 80 MB extract as one string plus its lines.
      const buf = doc.content;
      let lineNo = 0;
      for (let start = 0; start < buf.length;) {
        let end = buf.indexOf(0x0a, start);
        if (end < 0) end = buf.length;
        lineNo++;
        const line = buf.toString("utf8", start, end);
        start = end + 1;
        if (!line.trim()) continue;
        const where = `${doc.name}:${lineNo}`;
        let it: unknown;
        try {
          it = JSON.parse(line);
        } catch (e) {
          yield problem(where, `invalid JSON: ${(e as Error).message}`);
          continue;
        }
        yield* ITEM11_RE.test(line) ? item11(it, where) : item20(it, where);
      }
      return;
    }
    try {
      if (FEED11_RE.test(head)) {
        for (const it of topLevelArrayItems(doc.content, "CVE_Items")) yield* item11(it, doc.name);
      } else if (FEED20_RE.test(head)) {
        for (const it of topLevelArrayItems(doc.content, "vulnerabilities")) yield* item20(it, doc.name);
      } else {
        yield* item20(JSON.parse(doc.content.toString("utf8")), doc.name);
      }
    } catch (e) {
      yield problem(doc.name, `invalid JSON: ${(e as Error).message}`);
    }
  },
};
