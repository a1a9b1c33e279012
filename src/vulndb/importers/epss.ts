import { CVE_ID_PATTERN } from "../../core/cve.js";
import { isCve } from "../ecosystems.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";

/**
 * EPSS scores (probability of exploitation activity in the next 30 days, and its percentile
 * among all scored CVEs) in two layouts:
 * - FIRST's daily `epss_scores-YYYY-MM-DD.csv(.gz)`: `#model_version:…,score_date:…`, then
 *   the header `cve,epss,percentile`, then rows; model and date are kept with every score,
 *   since scores are comparable only within one model;
 * - EMBA's per-year files (`CVE_<year>_EPSS.csv`): `CVE-ID;epss;percentile`, no header and no
 *   date (the date of the API call that produced them is only in their git history), so
 *   their scores carry no date.
 * Bad rows are problems (the first few in full, then a count); the rest of the file is read.
 */

const FIRST_HEAD_RE = /^(#model_version:|cve,epss,percentile)/;
const EMBA_ROW_RE = new RegExp(String.raw`^${CVE_ID_PATTERN};[0-9.eE-]+;[0-9.eE-]+\r?$`, "m");
/** Bad rows reported one by one per document; beyond this, one summary problem. */
const MAX_ROW_PROBLEMS = 20;

export const epssImporter: FeedImporter = {
  id: "epss",
  upstream: [
    {
      url: "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
      mirrorPath: "enrichment/epss/epss_scores-current.csv.gz",
    },
  ],
  recognizes({ name, head }) {
    if (!/\.csv$/i.test(name)) return false;
    const text = head.toString("utf8");
    return FIRST_HEAD_RE.test(text) || EMBA_ROW_RE.test(text.split("\n", 1)[0] ?? "");
  },
  *parse(doc: FeedDocument): Iterable<ImportItem> {
    const text = doc.content.toString("utf8");
    const lines = text.split("\n");
    let model: string | undefined;
    let date: string | undefined;
    let sep = ";";
    let start = 0;
    const meta = /^#model_version:([^,]*),score_date:(\d{4}-\d{2}-\d{2})/.exec(lines[0] ?? "");
    if (meta) {
      model = meta[1];
      date = meta[2];
      start = 1;
    }
    if (/^cve,epss,percentile\s*$/.test(lines[start] ?? "")) {
      sep = ",";
      start++;
    }
    let bad = 0;
    for (let i = start; i < lines.length; i++) {
      const line = lines[i]!.trimEnd();
      if (!line) continue;
      const [cve, s, p, ...extra] = line.split(sep);
      const score = Number(s);
      const percentile = Number(p);
      const ok =
        cve !== undefined &&
        isCve(cve) &&
        extra.length === 0 &&
        s !== "" &&
        p !== "" &&
        score >= 0 &&
        score <= 1 &&
        percentile >= 0 &&
        percentile <= 1;
      if (!ok) {
        if (++bad <= MAX_ROW_PROBLEMS) {
          yield {
            kind: "problem",
            problem: {
              feed: "epss",
              document: `${doc.name}:${i + 1}`,
              reason: `bad EPSS row ${JSON.stringify(line.slice(0, 80))}`,
            },
          };
        }
        continue;
      }
      yield {
        kind: "enrichment",
        enrichment: {
          cve: cve!,
          epss: { score, percentile, ...(date ? { date } : {}), ...(model ? { model } : {}) },
        },
      };
    }
    if (bad > MAX_ROW_PROBLEMS) {
      yield {
        kind: "problem",
        problem: {
          feed: "epss",
          document: doc.name,
          reason: `${bad - MAX_ROW_PROBLEMS} more bad rows not listed`,
        },
      };
    }
  },
};
