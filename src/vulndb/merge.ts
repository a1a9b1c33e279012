import type { Advisory } from "./types.js";

/**
 * Combining records of one advisory (same source and id): within a feed when it is written
 * (writer.ts), across feeds when it is read (db.ts). See schema.ts for when each happens.
 */

function union(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (!a && !b) return undefined;
  return [...new Set([...(a ?? []), ...(b ?? [])])];
}

/**
 * Two records with one (source, id): one advisory covering both (see schema.ts). `prev` keeps
 * its descriptive fields; lists are united; affected entries already present are not repeated.
 */
export function mergeAdvisories(prev: Advisory, next: Advisory): Advisory {
  const seen = new Set(prev.affected.map((e) => JSON.stringify(e)));
  const cvssKey = (s: { type: string; vector: string }) => `${s.type} ${s.vector}`;
  const cvss = [...(prev.cvss ?? [])];
  const haveCvss = new Set(cvss.map(cvssKey));
  for (const s of next.cvss ?? []) if (!haveCvss.has(cvssKey(s))) cvss.push(s);
  const refs = [...(prev.references ?? [])];
  const haveRefs = new Set(refs.map((r) => r.url));
  for (const r of next.references ?? []) if (!haveRefs.has(r.url)) refs.push(r);
  return {
    ...prev,
    aliases: union(prev.aliases, next.aliases) ?? [],
    related: union(prev.related, next.related),
    upstream: union(prev.upstream, next.upstream),
    cvss: cvss.length ? cvss : undefined,
    references: refs.length ? refs : undefined,
    modified: [prev.modified, next.modified].filter(Boolean).sort().pop(),
    affected: [...prev.affected, ...next.affected.filter((e) => !seen.has(JSON.stringify(e)))],
  };
}
