import type { Advisory, Enrichment, FeedProblem } from "../types.js";

/**
 * A feed importer: recognizes its documents and parses them offline into advisories (or
 * enrichment records). Listed in ./registry.ts. Parsing is pure: bytes in, records out;
 * a broken document yields a FeedProblem and parsing continues with the next one.
 */
export interface FeedDocument {
  /** Path of the file, or `archive!member` for a member of a zip/tar archive. */
  name: string;
  content: Buffer;
}

export type ImportItem =
  | { kind: "advisory"; advisory: Advisory }
  | { kind: "enrichment"; enrichment: Enrichment }
  | { kind: "problem"; problem: FeedProblem }
  /** A record deliberately left out (rejected CVE, unreviewed GHSA): counted, not a problem. */
  | { kind: "skipped"; document: string; reason: string };

export interface FeedImporter {
  /** Stable id: osv, alpine-secdb, debian-tracker, debian-dsa, oval, rubysec, friendsofphp, nodejs-wg, wolfi, nvd, vulnrichment, kev, epss. */
  readonly id: string;
  /** Whether this importer reads the document (by name and first bytes; cheap). */
  recognizes(doc: { name: string; head: Buffer }): boolean;
  /** Parses one document (a whole file or one archive member). */
  parse(doc: FeedDocument): AsyncIterable<ImportItem> | Iterable<ImportItem>;
  /** Upstream URLs `drydock db update` fetches by default (relative to a mirror base when one is configured). */
  readonly upstream?: readonly { url: string; mirrorPath: string }[];
}
