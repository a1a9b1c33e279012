import { z } from "zod";
import { productOf } from "./products.js";
import {
  VEX_LIMITS,
  VEX_STATUSES,
  VexError,
  type VexDocument,
  type VexProduct,
  type VexStatement,
  type VexStatus,
} from "./types.js";
import { checkedId, issueMessage, text, timeOf } from "./util.js";

/**
 * OpenVEX (https://github.com/openvex/spec, v0.2.0; the v0.0.x forms too: a vulnerability as a
 * plain name, products and subcomponents as plain ids). Unknown members are ignored, as the
 * spec's JSON-LD allows; what Drydock relies on is checked: the context, a known status, and
 * for `not_affected` (the status that suppresses) a justification or an impact statement, as
 * the spec requires.
 */

export const OPENVEX_CONTEXT_PREFIX = "https://openvex.dev/ns";

const idOrObject = z.union([
  z.string().min(1),
  z.looseObject({
    "@id": z.string().min(1).optional(),
    identifiers: z.looseObject({ purl: z.string().optional() }).optional(),
  }),
]);

const statementSchema = z.looseObject({
  vulnerability: z.union([
    z.string().min(1),
    z.looseObject({
      name: z.string().min(1).optional(),
      "@id": z.string().min(1).optional(),
      aliases: z.array(z.string().min(1)).optional(),
    }),
  ]),
  products: z
    .array(
      z.union([
        z.string().min(1),
        z.looseObject({
          "@id": z.string().min(1).optional(),
          identifiers: z.looseObject({ purl: z.string().optional() }).optional(),
          subcomponents: z.array(idOrObject).optional(),
        }),
      ]),
    )
    .optional(),
  status: z.enum(VEX_STATUSES as [VexStatus, ...VexStatus[]]),
  justification: z.string().optional(),
  impact_statement: z.string().optional(),
  action_statement: z.string().optional(),
  status_notes: z.string().optional(),
  timestamp: z.string().optional(),
  last_updated: z.string().optional(),
});

const documentSchema = z.looseObject({
  "@context": z.string().refine((c) => c.startsWith(OPENVEX_CONTEXT_PREFIX), {
    message: `not an OpenVEX context (${OPENVEX_CONTEXT_PREFIX}/v0.2.0 expected)`,
  }),
  "@id": z.string().optional(),
  author: z.string().optional(),
  timestamp: z.string().optional(),
  last_updated: z.string().optional(),
  statements: z.array(statementSchema),
});

/** Whether a parsed JSON value claims to be OpenVEX (its @context). */
export function looksLikeOpenVex(v: unknown): boolean {
  const c = (v as { "@context"?: unknown } | null)?.["@context"];
  return typeof c === "string" && c.startsWith(OPENVEX_CONTEXT_PREFIX);
}

const idOf = (v: z.infer<typeof idOrObject>): string | undefined =>
  typeof v === "string" ? v : (v["@id"] ?? v.identifiers?.purl);

/** An OpenVEX document (already JSON-parsed) in the normalized shape; VexError when invalid. */
export function parseOpenVex(v: unknown): VexDocument {
  const r = documentSchema.safeParse(v);
  if (!r.success) throw new VexError("INVALID", `OpenVEX: ${issueMessage(r.error)}`);
  const doc = r.data;
  if (doc.statements.length > VEX_LIMITS.maxStatements)
    throw new VexError(
      "TOO_MANY",
      `OpenVEX: ${doc.statements.length} statements (at most ${VEX_LIMITS.maxStatements})`,
    );
  const docTime = timeOf(doc.last_updated ?? doc.timestamp, "OpenVEX: timestamp");
  const statements: VexStatement[] = doc.statements.map((s, i) => {
    const where = `OpenVEX: statements[${i}]`;
    const vuln = s.vulnerability;
    const name = typeof vuln === "string" ? vuln : (vuln.name ?? vuln["@id"]);
    if (!name) throw new VexError("INVALID", `${where}.vulnerability: a name or @id is required`);
    const aliases = typeof vuln === "string" ? [] : (vuln.aliases ?? []);
    if (s.status === "not_affected" && !s.justification && !s.impact_statement)
      throw new VexError(
        "INVALID",
        `${where}: a not_affected statement needs a justification or an impact_statement`,
      );
    const products: VexProduct[] = [];
    let count = 0;
    for (const [j, p] of (s.products ?? []).entries()) {
      const id = typeof p === "string" ? p : (p["@id"] ?? p.identifiers?.purl);
      if (!id) throw new VexError("INVALID", `${where}.products[${j}]: an @id is required`);
      const subs = typeof p === "string" ? [] : (p.subcomponents ?? []);
      count += 1 + subs.length;
      if (count > VEX_LIMITS.maxProducts)
        throw new VexError("TOO_MANY", `${where}: more than ${VEX_LIMITS.maxProducts} products`);
      const subIds = subs.map((c, k) => {
        const sid = idOf(c);
        if (!sid)
          throw new VexError("INVALID", `${where}.products[${j}].subcomponents[${k}]: an @id is required`);
        return checkedId(sid, `${where}.products[${j}].subcomponents[${k}]`);
      });
      products.push(productOf(checkedId(id, `${where}.products[${j}]`), subIds));
    }
    const time = timeOf(s.last_updated ?? s.timestamp, `${where}.timestamp`) ?? docTime;
    const justification = s.justification ? checkedId(s.justification, `${where}.justification`) : undefined;
    const detail = text(s.impact_statement ?? s.status_notes);
    const action = text(s.action_statement);
    return {
      vulnerability: checkedId(name, `${where}.vulnerability`),
      aliases: aliases.map((a, k) => checkedId(a, `${where}.vulnerability.aliases[${k}]`)),
      status: s.status,
      ...(justification ? { justification } : {}),
      ...(detail ? { detail } : {}),
      ...(action ? { action } : {}),
      products,
      ...(time !== undefined ? { timestamp: time } : {}),
    };
  });
  return {
    format: "openvex",
    ...(doc["@id"] ? { id: checkedId(doc["@id"], "OpenVEX: @id") } : {}),
    ...(doc.author ? { author: text(doc.author)! } : {}),
    ...(docTime !== undefined ? { timestamp: docTime } : {}),
    statements,
  };
}
