import { z } from "zod";
import { isCve } from "../ecosystems.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";

/**
 * The CISA Known Exploited Vulnerabilities catalog: membership means "exploited in the wild"
 * and never expires. Matched on CVE id only (vendor and product are free text). One bad entry
 * is a problem of its own; the rest of the catalog is still read.
 */

const entry = z.looseObject({
  cveID: z.string().refine(isCve, "not a CVE id"),
  vendorProject: z.string().optional(),
  product: z.string().optional(),
  dateAdded: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "not a YYYY-MM-DD date"),
  dueDate: z.string().optional(),
  knownRansomwareCampaignUse: z.string().optional(),
});

const catalog = z.looseObject({
  catalogVersion: z.string(),
  vulnerabilities: z.array(z.unknown()),
});

export const kevImporter: FeedImporter = {
  id: "kev",
  upstream: [
    {
      url: "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
      mirrorPath: "enrichment/kev/known_exploited_vulnerabilities.json",
    },
  ],
  recognizes({ name, head }) {
    if (!/\.json$/i.test(name)) return false;
    const text = head.toString("utf8");
    // The catalog's JSON Schema names the same properties: it has "$schema", the catalog does not.
    return /"catalogVersion"\s*:\s*"/.test(text) && !/"\$schema"/.test(text);
  },
  *parse(doc: FeedDocument): Iterable<ImportItem> {
    const problem = (document: string, reason: string): ImportItem => ({
      kind: "problem",
      problem: { feed: "kev", document, reason },
    });
    let value: unknown;
    try {
      value = JSON.parse(doc.content.toString("utf8"));
    } catch (e) {
      yield problem(doc.name, `invalid JSON: ${(e as Error).message}`);
      return;
    }
    const c = catalog.safeParse(value);
    if (!c.success) {
      yield problem(
        doc.name,
        `not a KEV catalog: ${c.error.issues[0]!.path.join(".")}: ${c.error.issues[0]!.message}`,
      );
      return;
    }
    for (const [i, v] of c.data.vulnerabilities.entries()) {
      const e = entry.safeParse(v);
      if (!e.success) {
        const id = (v as { cveID?: unknown } | null)?.cveID;
        const issue = e.error.issues[0]!;
        yield problem(
          `${doc.name} [${i}] ${String(id)}`,
          `bad KEV entry: ${issue.path.join(".")}: ${issue.message}`,
        );
        continue;
      }
      const k = e.data;
      yield {
        kind: "enrichment",
        enrichment: {
          cve: k.cveID,
          kev: {
            dateAdded: k.dateAdded,
            ...(k.dueDate ? { dueDate: k.dueDate } : {}),
            ...(k.knownRansomwareCampaignUse
              ? { knownRansomwareCampaignUse: k.knownRansomwareCampaignUse }
              : {}),
            ...(k.vendorProject ? { vendorProject: k.vendorProject } : {}),
            ...(k.product ? { product: k.product } : {}),
          },
        },
      };
    }
  },
};
