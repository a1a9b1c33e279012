import { z } from "zod";
import { productOf } from "./products.js";
import {
  VEX_LIMITS,
  VexError,
  type VexDocument,
  type VexProduct,
  type VexStatement,
  type VexStatus,
} from "./types.js";
import { checkedId, issueMessage, text, timeOf } from "./util.js";

/**
 * CycloneDX VEX (JSON, spec 1.4 to 1.6): `vulnerabilities[]` with an `analysis.state` are the
 * statements (a vulnerability without an analysis is a listing, not a VEX statement: skipped);
 * `affects[].ref` names what each is about: the bom-ref of a component of the document (its
 * purl is what is matched; the document's own metadata.component or a `container` component is
 * the image itself), a BOM-link (`urn:cdx:<serial>/<version>#<bom-ref>`), or a purl.
 *
 * States: not_affected and false_positive → not_affected (suppress); resolved and
 * resolved_with_pedigree → fixed; exploitable → affected; in_triage → under_investigation.
 */

const STATES: Record<string, VexStatus> = {
  not_affected: "not_affected",
  false_positive: "not_affected",
  resolved: "fixed",
  resolved_with_pedigree: "fixed",
  exploitable: "affected",
  in_triage: "under_investigation",
};
const SPEC_VERSIONS = ["1.4", "1.5", "1.6"];

interface Component {
  "bom-ref"?: string | undefined;
  type?: string | undefined;
  purl?: string | undefined;
  components?: Component[] | undefined;
}
const componentSchema: z.ZodType<Component> = z.lazy(() =>
  z.looseObject({
    "bom-ref": z.string().optional(),
    type: z.string().optional(),
    purl: z.string().optional(),
    components: z.array(componentSchema).optional(),
  }),
);

const vulnerabilitySchema = z.looseObject({
  id: z.string().min(1),
  references: z.array(z.looseObject({ id: z.string().min(1) })).optional(),
  analysis: z
    .looseObject({
      state: z
        .string()
        .refine((s) => s in STATES, { message: `unknown state (one of ${Object.keys(STATES).join(", ")})` })
        .optional(),
      justification: z.string().optional(),
      response: z.array(z.string()).optional(),
      detail: z.string().optional(),
      lastUpdated: z.string().optional(),
      firstIssued: z.string().optional(),
    })
    .optional(),
  affects: z.array(z.looseObject({ ref: z.string().min(1) })).optional(),
  updated: z.string().optional(),
  published: z.string().optional(),
});

const documentSchema = z.looseObject({
  bomFormat: z.literal("CycloneDX"),
  specVersion: z.string().refine((v) => SPEC_VERSIONS.includes(v), {
    message: `unsupported CycloneDX version (${SPEC_VERSIONS.join(", ")} are read)`,
  }),
  serialNumber: z.string().optional(),
  metadata: z
    .looseObject({
      timestamp: z.string().optional(),
      component: componentSchema.optional(),
    })
    .optional(),
  components: z.array(componentSchema).optional(),
  vulnerabilities: z.array(vulnerabilitySchema).default([]),
});

/** Whether a parsed JSON value claims to be CycloneDX. */
export function looksLikeCycloneDx(v: unknown): boolean {
  return (v as { bomFormat?: unknown } | null)?.bomFormat === "CycloneDX";
}

/** A CycloneDX VEX (already JSON-parsed) in the normalized shape; VexError when invalid. */
export function parseCycloneDxVex(v: unknown): VexDocument {
  const r = documentSchema.safeParse(v);
  if (!r.success) throw new VexError("INVALID", `CycloneDX: ${issueMessage(r.error)}`);
  const doc = r.data;
  if (doc.vulnerabilities.length > VEX_LIMITS.maxStatements)
    throw new VexError(
      "TOO_MANY",
      `CycloneDX: ${doc.vulnerabilities.length} vulnerabilities (at most ${VEX_LIMITS.maxStatements})`,
    );
  // bom-ref → what it names: the image itself (null) or a component's purl.
  const refs = new Map<string, VexProduct>();
  const self = doc.metadata?.component;
  const add = (c: Component, image: boolean) => {
    const ref = c["bom-ref"];
    if (!ref || refs.has(ref)) return;
    if (image || c.type === "container") {
      const p = c.purl ? productOf(c.purl) : undefined;
      refs.set(ref, { ...(p?.image ? { image: p.image } : {}), packages: [] });
    } else refs.set(ref, c.purl ? productOf(c.purl) : { packages: [], unrecognized: ref });
  };
  let seen = 0;
  const walk = (list: readonly Component[] | undefined) => {
    for (const c of list ?? []) {
      if (++seen > 100_000) throw new VexError("TOO_MANY", "CycloneDX: more than 100000 components");
      add(c, false);
      walk(c.components);
    }
  };
  if (self) add(self, true);
  walk(doc.components);

  const resolve = (ref: string): VexProduct => {
    const known = refs.get(ref);
    if (known) return known;
    const hash = ref.startsWith("urn:cdx:") ? ref.indexOf("#") : -1;
    if (hash >= 0) {
      let fragment: string;
      try {
        fragment = decodeURIComponent(ref.slice(hash + 1));
      } catch {
        return { packages: [], unrecognized: ref };
      }
      return refs.get(fragment) ?? productOf(fragment);
    }
    return productOf(ref);
  };

  const docTime = timeOf(doc.metadata?.timestamp, "CycloneDX: metadata.timestamp");
  const statements: VexStatement[] = [];
  for (const [i, vu] of doc.vulnerabilities.entries()) {
    const where = `CycloneDX: vulnerabilities[${i}]`;
    const state = vu.analysis?.state;
    if (!state) continue;
    const affects = vu.affects ?? [];
    if (affects.length > VEX_LIMITS.maxProducts)
      throw new VexError("TOO_MANY", `${where}: more than ${VEX_LIMITS.maxProducts} affects`);
    const a = vu.analysis!;
    const time =
      timeOf(a.lastUpdated ?? a.firstIssued, `${where}.analysis.lastUpdated`) ??
      timeOf(vu.updated ?? vu.published, `${where}.updated`) ??
      docTime;
    const detail = text(a.detail);
    const action = text(a.response?.join(", "));
    statements.push({
      vulnerability: checkedId(vu.id, `${where}.id`),
      aliases: (vu.references ?? []).map((x, k) => checkedId(x.id, `${where}.references[${k}].id`)),
      status: STATES[state]!,
      ...(state !== STATES[state] ? { sourceStatus: state } : {}),
      ...(a.justification
        ? { justification: checkedId(a.justification, `${where}.analysis.justification`) }
        : {}),
      ...(detail ? { detail } : {}),
      ...(action ? { action } : {}),
      products: affects.map((x, k) => resolve(checkedId(x.ref, `${where}.affects[${k}].ref`))),
      ...(time !== undefined ? { timestamp: time } : {}),
    });
  }
  return {
    format: "cyclonedx",
    ...(doc.serialNumber ? { id: checkedId(doc.serialNumber, "CycloneDX: serialNumber") } : {}),
    ...(docTime !== undefined ? { timestamp: docTime } : {}),
    statements,
  };
}
