import { isCve } from "../ecosystems.js";
import type { Enrichment, SeverityScore } from "../types.js";
import { scoreFromMetric } from "./cvss-metric.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";

/**
 * CVE JSON 5 records (cisagov/vulnrichment, cvelistV5) into enrichment: the CNA's CVSS
 * (source: the CNA's short name), CISA-ADP's CVSS (source "cisa-adp", which CISA adds when the
 * CNA gave none), CISA's SSVC decision points, and its KEV note. NVD scores, when present,
 * come first when read (enrichment.ts), so these fill the gaps NVD leaves. Rejected records
 * are skipped.
 */

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const METRIC_KEYS = ["cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0"] as const;

function ssvcOf(content: Json): Enrichment["ssvc"] {
  const out: NonNullable<Enrichment["ssvc"]> = {};
  for (const o of arr(content.options)) {
    const oo = obj(o);
    if (!oo) continue;
    if (typeof oo.Exploitation === "string") out.exploitation = oo.Exploitation;
    if (typeof oo.Automatable === "string") out.automatable = oo.Automatable;
    if (typeof oo["Technical Impact"] === "string") out.technicalImpact = oo["Technical Impact"];
  }
  if (typeof content.timestamp === "string") out.date = content.timestamp;
  return Object.keys(out).length ? out : undefined;
}

export const vulnrichmentImporter: FeedImporter = {
  id: "vulnrichment",
  upstream: [
    {
      url: "https://github.com/cisagov/vulnrichment/archive/refs/heads/develop.tar.gz",
      mirrorPath: "enrichment/cisa-vulnrichment/vulnrichment.tar.gz",
    },
  ],
  recognizes({ name, head }) {
    if (!/\.json$/i.test(name)) return false;
    const text = head.toString("utf8");
    // Key order varies: a record may open with a long `containers` object.
    return (
      /"dataType"\s*:\s*"CVE_RECORD"/.test(text) ||
      /"cveMetadata"\s*:/.test(text) ||
      /^\s*\{\s*"containers"\s*:\s*\{\s*"(cna|adp)"\s*:/.test(text)
    );
  },
  *parse(doc: FeedDocument): Iterable<ImportItem> {
    const problem = (reason: string, document = doc.name): ImportItem => ({
      kind: "problem",
      problem: { feed: "vulnrichment", document, reason },
    });
    let rec: Json | undefined;
    try {
      rec = obj(JSON.parse(doc.content.toString("utf8")));
    } catch (e) {
      yield problem(`invalid JSON: ${(e as Error).message}`);
      return;
    }
    const meta = obj(rec?.cveMetadata);
    const id = meta?.cveId;
    if (typeof id !== "string" || !isCve(id)) {
      yield problem(`not a CVE JSON 5 record (cveMetadata.cveId ${JSON.stringify(id)})`);
      return;
    }
    const where = `${doc.name} (${id})`;
    if (meta?.state === "REJECTED") {
      yield { kind: "skipped", document: where, reason: "rejected CVE" };
      return;
    }
    const containers = obj(rec?.containers);
    const cna = obj(containers?.cna);
    const e: Enrichment = { cve: id };
    const cvss: SeverityScore[] = [];
    const collect = function* (metrics: unknown, source: string): Generator<ImportItem> {
      for (const m of arr(metrics)) {
        const mo = obj(m);
        for (const k of METRIC_KEYS) {
          const c = obj(mo?.[k]);
          if (!c) continue;
          try {
            cvss.push(scoreFromMetric(c.vectorString, c.baseScore, source));
          } catch (err) {
            yield problem(`${source} ${k}: ${(err as Error).message}`, where);
          }
        }
      }
    };
    const cnaName = obj(cna?.providerMetadata)?.shortName;
    yield* collect(cna?.metrics, typeof cnaName === "string" && cnaName ? cnaName : "cna");
    for (const adp of arr(containers?.adp)) {
      const a = obj(adp);
      if (obj(a?.providerMetadata)?.shortName !== "CISA-ADP") continue;
      yield* collect(a?.metrics, "cisa-adp");
      for (const m of arr(a?.metrics)) {
        const other = obj(obj(m)?.other);
        const content = obj(other?.content);
        if (!content) continue;
        if (other?.type === "ssvc") e.ssvc = ssvcOf(content);
        if (other?.type === "kev" && typeof content.dateAdded === "string")
          e.kev = { dateAdded: content.dateAdded };
      }
    }
    if (cvss.length) e.cvss = cvss;
    if (e.cvss || e.ssvc || e.kev) yield { kind: "enrichment", enrichment: e };
  },
};
