import type { z } from "zod";
import { VEX_LIMITS, VexError } from "./types.js";

/** The first zod issue as `path: message` (a document's first problem is the one to fix). */
export function issueMessage(e: z.ZodError): string {
  const i = e.issues[0]!;
  const path = i.path
    .map((p, k) => (typeof p === "number" ? `[${p}]` : k === 0 ? String(p) : `.${String(p)}`))
    .join("");
  return path ? `${path}: ${i.message}` : i.message;
}

/** An identifier kept as given, refused when absurdly long (it would be stored per image). */
export function checkedId(s: string, where: string): string {
  if (s.length > VEX_LIMITS.maxIdLength)
    throw new VexError("INVALID", `${where}: longer than ${VEX_LIMITS.maxIdLength} characters`);
  return s;
}

/** Free text, cut to the limit (it is shown, never matched). */
export function text(s: string | undefined): string | undefined {
  if (s === undefined || s === "") return undefined;
  return s.length > VEX_LIMITS.maxTextLength ? s.slice(0, VEX_LIMITS.maxTextLength) : s;
}

/** An RFC 3339 time as epoch ms; undefined when absent; VexError when not a time. */
export function timeOf(s: string | undefined, where: string): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t))
    throw new VexError("INVALID", `${where}: ${JSON.stringify(s.slice(0, 64))} is not an RFC 3339 time`);
  return t;
}
