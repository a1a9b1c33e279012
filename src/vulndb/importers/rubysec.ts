import type { Advisory, SeverityScore } from "../types.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";
import {
  advisoryItem,
  decompress,
  baseName,
  firstYamlKey,
  guarded,
  isoDate,
  isRecord,
  loadYaml,
  memberPath,
  num,
  peekText,
  problemItem,
  str,
  strList,
  uniquePush,
} from "./native-feed-common.js";

/**
 * The Ruby Advisory Database (rubysec/ruby-advisory-db): one YAML file per advisory,
 * `gems/<gem>/<id>.yml` for gems and `rubies/<engine>/<id>.yml` for the interpreters.
 *
 * A version is vulnerable when it matches none of `patched_versions` and none of
 * `unaffected_versions` (RubyGems requirements such as `~> 1.15.6` or `>= 2.0, < 2.3.1`):
 * exactly a NativeRange with both lists as `unaffected` and no `vulnerable`. Interpreter
 * advisories go to the `ruby-interpreter` ecosystem with the engine (ruby, jruby, mruby,
 * mrubyc, rbx) as the package, so an interpreter cataloger can match them.
 */

const FEED = "rubysec";

export const rubysecUpstream = [
  {
    url: "https://github.com/rubysec/ruby-advisory-db/archive/refs/heads/master.tar.gz",
    mirrorPath: "rubysec/ruby-advisory-db.tar.gz",
  },
];

/** `2023-31606` → `CVE-2023-31606` (the file may already carry a prefix). */
const prefixed = (prefix: string, v: unknown): string | undefined => {
  const s = str(v) ?? (typeof v === "number" ? String(v) : undefined);
  if (!s) return undefined;
  return s.toUpperCase().startsWith(`${prefix}-`)
    ? `${prefix}-${s.slice(prefix.length + 1)}`
    : `${prefix}-${s}`;
};

function* parseAdvisory(doc: FeedDocument): Generator<ImportItem> {
  const yaml = loadYaml(decompress(doc.content).toString("utf8"));
  if (!yaml.ok) {
    yield problemItem(FEED, doc.name, yaml.error);
    return;
  }
  const y = yaml.value;
  if (!isRecord(y)) {
    yield problemItem(FEED, doc.name, "not a mapping");
    return;
  }
  const gem = str(y.gem);
  const engine = str(y.engine);
  if (!gem && !engine) {
    yield problemItem(FEED, doc.name, "neither gem nor engine");
    return;
  }
  const cve = prefixed("CVE", y.cve);
  const ghsa = prefixed("GHSA", y.ghsa);
  const osvdb = prefixed("OSVDB", y.osvdb);
  const ids = [cve, ghsa, osvdb].filter((x): x is string => x !== undefined);
  // The CVE is the name users know; the file name is the last resort.
  const id = ids[0] ?? baseName(memberPath(doc.name)).replace(/\.ya?ml$/, "");

  const advisory: Advisory = {
    id,
    source: FEED,
    aliases: ids.filter((x) => x !== id),
    affected: [
      {
        ecosystem: gem ? "gem" : "ruby-interpreter",
        package: (gem ?? engine)!,
        ranges: [
          { type: "NATIVE", unaffected: [...strList(y.patched_versions), ...strList(y.unaffected_versions)] },
        ],
      },
    ],
  };
  const title = str(y.title);
  if (title) advisory.summary = title;
  const description = str(y.description);
  if (description) advisory.details = description;
  const date = isoDate(y.date);
  if (date) advisory.published = date;

  // rubysec publishes base scores without vectors.
  const cvss: SeverityScore[] = [];
  for (const [key, type] of [
    ["cvss_v4", "CVSS_V4"],
    ["cvss_v3", "CVSS_V3"],
    ["cvss_v2", "CVSS_V2"],
  ] as const) {
    const score = num(y[key]);
    if (score !== undefined) cvss.push({ type, vector: "", score, source: FEED });
  }
  if (cvss.length > 0) advisory.cvss = cvss;

  const refs: { type?: string; url: string }[] = [];
  const url = str(y.url);
  if (url) refs.push({ type: "ADVISORY", url });
  const related: string[] = [];
  if (isRecord(y.related)) {
    for (const u of strList(y.related.url))
      if (!refs.some((r) => r.url === u)) refs.push({ type: "WEB", url: u });
    for (const [key, prefix] of [
      ["cve", "CVE"],
      ["ghsa", "GHSA"],
      ["osvdb", "OSVDB"],
    ] as const) {
      const list = Array.isArray(y.related[key]) ? (y.related[key] as unknown[]) : [y.related[key]];
      for (const r of list) {
        const p = prefixed(prefix, r);
        if (p && p !== id && !advisory.aliases.includes(p)) uniquePush(related, p);
      }
    }
  }
  if (refs.length > 0) advisory.references = refs;
  if (related.length > 0) advisory.related = related;
  yield advisoryItem(advisory);
}

export const rubysecImporter: FeedImporter = {
  id: FEED,
  upstream: rubysecUpstream,
  recognizes({ name, head }) {
    if (!/\.ya?ml$/.test(memberPath(name))) return false;
    const key = firstYamlKey(peekText(head, 512));
    return key === "gem" || key === "engine";
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseAdvisory(doc));
  },
};
