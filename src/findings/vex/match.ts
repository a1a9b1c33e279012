import { pep503 } from "../../vulndb/ecosystems.js";
import type { Finding } from "../finding.js";
import { packageOf } from "./products.js";
import type { VexPackage, VexProduct, VexStatement, VexStatus } from "./types.js";

/**
 * Which VEX statement speaks for a finding (docs/vex-and-exceptions.md, "Matching"):
 *   - the vulnerability: the statement's name or one of its aliases is the finding's id or one
 *     of its aliases (case-insensitively: `cve-2023-1234` is the CVE);
 *   - the product: a statement without products is about the whole image it is attached to (or
 *     scanned with); an image product names this image (or no digest); a package product, or an
 *     image product's subcomponents, must name the finding's package: same purl type, same name
 *     (PyPI names normalized, others case-insensitively), same namespace when given, same
 *     version when given (an epoch `1:` ignored on either side); unrecognized products match
 *     nothing;
 *   - several statements for one finding: the latest (statement time, else document time)
 *     wins; at equal times the later document, then the later statement.
 * Only `not_affected` suppresses; the others are recorded and shown.
 */

/** The statements of one VEX document applied to an image, and where they came from. */
export interface AppliedVex {
  /** Where the document came from: `referrer sha256:…` or a file name. */
  source: string;
  format: "openvex" | "cyclonedx";
  statements: readonly VexStatement[];
}

/** The statement that decides a finding and its source. */
export interface VexVerdict {
  status: VexStatus;
  statement: VexStatement;
  source: string;
  format: AppliedVex["format"];
}

interface Entry {
  statement: VexStatement;
  doc: number;
  index: number;
}

/** Statements indexed by vulnerability id (upper case), for matching many findings of an image. */
export class VexIndex {
  private readonly byId = new Map<string, Entry[]>();

  constructor(
    private readonly docs: readonly AppliedVex[],
    /** The digests that are this image (itself; an index it belongs to). */
    private readonly imageDigests: ReadonlySet<string>,
  ) {
    docs.forEach((d, doc) =>
      d.statements.forEach((statement, index) => {
        for (const id of new Set(
          [statement.vulnerability, ...statement.aliases].map((x) => x.toUpperCase()),
        )) {
          const list = this.byId.get(id) ?? [];
          list.push({ statement, doc, index });
          this.byId.set(id, list);
        }
      }),
    );
  }

  get size(): number {
    return this.byId.size;
  }

  /** The deciding statement for a finding, or undefined when none speaks for it. */
  verdict(f: Pick<Finding, "vulnerabilityId" | "aliases" | "package">): VexVerdict | undefined {
    if (!this.byId.size) return undefined;
    let best: Entry | undefined;
    const seen = new Set<Entry>();
    let pkg: VexPackage | null | undefined;
    for (const id of [f.vulnerabilityId, ...f.aliases]) {
      for (const e of this.byId.get(id.toUpperCase()) ?? []) {
        if (seen.has(e)) continue;
        seen.add(e);
        pkg ??= findingPackage(f);
        if (!statementCovers(e.statement, pkg, f, this.imageDigests)) continue;
        if (!best || later(e, best)) best = e;
      }
    }
    if (!best) return undefined;
    const d = this.docs[best.doc]!;
    return { status: best.statement.status, statement: best.statement, source: d.source, format: d.format };
  }
}

function later(a: Entry, b: Entry): boolean {
  const ta = a.statement.timestamp ?? 0;
  const tb = b.statement.timestamp ?? 0;
  if (ta !== tb) return ta > tb;
  if (a.doc !== b.doc) return a.doc > b.doc;
  return a.index > b.index;
}

function findingPackage(f: Pick<Finding, "package">): VexPackage | null {
  return f.package.purl ? packageOf(f.package.purl) : null;
}

function statementCovers(
  s: VexStatement,
  pkg: VexPackage | null,
  f: Pick<Finding, "package">,
  images: ReadonlySet<string>,
): boolean {
  if (!s.products.length) return true;
  return s.products.some((p) => productCovers(p, pkg, f, images));
}

function productCovers(
  p: VexProduct,
  pkg: VexPackage | null,
  f: Pick<Finding, "package">,
  images: ReadonlySet<string>,
): boolean {
  if (p.unrecognized !== undefined) return false;
  if (p.image !== undefined && !images.has(p.image)) return false;
  if (!p.packages.length) return true;
  return p.packages.some((q) => packageCovers(q, pkg, f));
}

const normName = (type: string, name: string) => (type === "pypi" ? pep503(name) : name.toLowerCase());
const noEpoch = (v: string) => v.replace(/^\d+:/, "");

/** Whether a VEX package names the finding's package (see the header). */
export function packageCovers(q: VexPackage, pkg: VexPackage | null, f: Pick<Finding, "package">): boolean {
  if (!pkg || pkg.type !== q.type) return false;
  if (normName(q.type, q.name) !== normName(pkg.type, pkg.name)) return false;
  if (q.namespace !== undefined && q.namespace.toLowerCase() !== (pkg.namespace ?? "").toLowerCase())
    return false;
  if (q.version === undefined) return true;
  const want = noEpoch(q.version);
  return [pkg.version, f.package.version].some((v) => v !== undefined && noEpoch(v) === want);
}
