import { yaml } from "../../core/yaml.js";
import { CvssError, cvssType, parseCvss } from "../cvss.js";
import { normalizePackage, osvEcosystemKey } from "../ecosystems.js";
import type { Advisory, Affected, SeverityScore } from "../types.js";
import {
  KNOWN_AFFECTED_FIELDS,
  KNOWN_PACKAGE_FIELDS,
  KNOWN_RANGE_FIELDS,
  KNOWN_RECORD_FIELDS,
  osvRecord,
  type OsvAffected,
  type OsvRecord,
} from "./osv-schema.js";
import { OsvRangeError, convertRanges } from "./osv-ranges.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";

/**
 * OSV records (https://ossf.github.io/osv-schema/) in JSON (osv.dev's `<ecosystem>/all.zip`,
 * GHSA, golang/vulndb, RustSec, AlmaLinux, Ubuntu, Debian…) and in YAML (the PyPA advisory
 * database). One importer for both spellings, so a PYSEC record imported from either lands on
 * the same (source, id).
 *
 * Normalization (docs/vulndb.md has the table): ecosystems to purl types or `<distro>:<release>`
 * (ecosystems.ts), PyPI names PEP 503, NuGet lowercase; GIT ranges dropped in favour of
 * `versions[]`; CVSS vectors scored (cvss.ts); withdrawn records kept with `withdrawn` set;
 * GHSA records GitHub has not reviewed skipped. A record with a bad range is refused whole (a
 * partial record could match wrongly); unknown fields are reported and the record is kept.
 */

export const OSV_UPSTREAM_ECOSYSTEMS = [
  "Go",
  "PyPI",
  "crates.io",
  "npm",
  "Maven",
  "NuGet",
  "RubyGems",
  "Packagist",
  "Pub",
  "Hex",
  "AlmaLinux",
  "Rocky Linux",
] as const;

const OSV_BUCKET = "https://osv-vulnerabilities.storage.googleapis.com";

/** osv.dev's published archives: one zip per ecosystem. Mirror layout `osv/<Ecosystem>/all.zip`. */
export const osvUpstream = OSV_UPSTREAM_ECOSYSTEMS.map((e) => ({
  url: `${OSV_BUCKET}/${encodeURIComponent(e)}/all.zip`,
  mirrorPath: `osv/${e}/all.zip`,
}));

/**
 * YAML for OSV records: every scalar is a string exactly as written, except null and the
 * booleans (core/yaml.ts's `advisory` rules). That is what the data needs: timestamps stay RFC
 * 3339 text, and an unquoted `versions: [3.0]` is the version "3.0", never the float 3 (PyPA's
 * files come from PyYAML, which quotes what YAML 1.1 would misread, but a hand-edited file may
 * not).
 */
export function parseOsvYaml(text: string): unknown {
  return yaml().parse(text, { rules: "advisory" });
}

const JSON_ID_RE = /"id"\s*:\s*"[^"]+"/;
const JSON_OSV_KEY_RE =
  /"(modified|affected|schema_version|published|withdrawn|summary|details|aliases)"\s*:/;
/** Key order varies (PyPA puts `affected` first): a record starts with its id or its affected list. */
const JSON_AFFECTED_RE = /"affected"\s*:\s*\[/;
const JSON_PACKAGE_RE = /"package"\s*:\s*\{[^{}]*"ecosystem"\s*:/;
const YAML_ID_RE = /^id:\s*\S/m;
const YAML_OSV_KEY_RE = /^(modified|affected|schema_version|published|summary|details|aliases):/m;
const YAML_AFFECTED_RE = /^affected:\s*$/m;
const YAML_ECOSYSTEM_RE = /^\s+ecosystem:\s*\S/m;

function unknownFields(obj: object, known: Set<string>): string[] {
  return Object.keys(obj).filter((k) => !known.has(k));
}

const WORD_SEVERITY_RE = /^(Critical|Important|Moderate|Low):\s/;

function scoreOf(type: string, vector: string, source: string): SeverityScore {
  const c = parseCvss(vector);
  const expected = cvssType(c.version);
  if (type !== expected) throw new CvssError(`${type} severity holds a CVSS ${c.version} vector`);
  return { type: expected, vector: c.vector, ...(c.score === undefined ? {} : { score: c.score }), source };
}

/** Converts one validated OSV record; `warn` collects non-fatal findings. */
function convert(r: OsvRecord, warn: (msg: string) => void): Advisory {
  const a: Advisory = { id: r.id, source: "osv", aliases: r.aliases ?? [], affected: [] };
  if (r.related?.length) a.related = r.related;
  if (r.upstream?.length) a.upstream = r.upstream;
  if (r.summary) a.summary = r.summary;
  if (r.details) a.details = r.details;
  if (r.published) a.published = r.published;
  if (r.modified) a.modified = r.modified;
  if (r.withdrawn) a.withdrawn = r.withdrawn;
  const cvss: SeverityScore[] = [];
  const addScore = (s: { type: string; score: string }, where: string): string | undefined => {
    if (s.type === "Ubuntu") return s.score;
    if (s.type !== "CVSS_V2" && s.type !== "CVSS_V3" && s.type !== "CVSS_V4") {
      warn(`${where}: unknown severity type ${s.type}`);
      return undefined;
    }
    try {
      const sc = scoreOf(s.type, s.score, "osv");
      if (!cvss.some((c) => c.type === sc.type && c.vector === sc.vector)) cvss.push(sc);
    } catch (e) {
      warn(`${where}: ${(e as Error).message}`);
    }
    return undefined;
  };
  for (const s of r.severity ?? []) {
    const word = addScore(s, "severity");
    if (word) a.severity = word;
  }
  const ghsa = r.database_specific?.severity;
  if (typeof ghsa === "string" && ghsa) a.severity = ghsa;
  if (r.database_specific?.github_reviewed === false)
    throw new SkipRecord("GHSA record not reviewed by GitHub");
  if (r.references?.length)
    a.references = r.references.map((x) => (x.type ? { type: x.type, url: x.url } : { url: x.url }));

  for (const [i, e] of (r.affected ?? []).entries()) {
    a.affected.push(convertAffected(e, i, warn, addScore, a));
  }
  if (!a.severity && a.affected.some((e) => e.ecosystem.includes(":"))) {
    // Red Hat-family errata (AlmaLinux, Rocky) put their rating at the head of the summary.
    const m = WORD_SEVERITY_RE.exec(r.summary ?? "");
    if (m) a.severity = m[1];
  }
  if (cvss.length) a.cvss = cvss;
  return a;
}

class SkipRecord extends Error {}

function convertAffected(
  e: OsvAffected,
  i: number,
  warn: (msg: string) => void,
  addScore: (s: { type: string; score: string }, where: string) => string | undefined,
  a: Advisory,
): Affected {
  const where = `affected[${i}]`;
  if (!e.package) throw new OsvRangeError(`${where} has no package`);
  for (const k of unknownFields(e, KNOWN_AFFECTED_FIELDS)) warn(`${where}: unknown field ${k}`);
  for (const k of unknownFields(e.package, KNOWN_PACKAGE_FIELDS))
    warn(`${where}.package: unknown field ${k}`);
  for (const [j, rg] of (e.ranges ?? []).entries()) {
    for (const k of unknownFields(rg, KNOWN_RANGE_FIELDS)) warn(`${where}.ranges[${j}]: unknown field ${k}`);
  }
  const ecosystem = osvEcosystemKey(e.package.ecosystem);
  let ranges;
  try {
    ranges = convertRanges(e.ranges ?? []);
  } catch (err) {
    throw new OsvRangeError(`${where} (${e.package.name}): ${(err as Error).message}`);
  }
  const out: Affected = { ecosystem, package: normalizePackage(ecosystem, e.package.name), ranges };
  if (e.versions?.length) {
    const bad = e.versions.find((v) => typeof v !== "string" || v === "");
    if (bad !== undefined)
      throw new OsvRangeError(`${where}: versions[] holds ${JSON.stringify(bad)}, not a version string`);
    out.versions = e.versions as string[];
  }
  for (const s of e.severity ?? []) {
    const word = addScore(s, `${where}.severity`);
    if (word) out.severity = word;
  }
  const es = e.ecosystem_specific;
  if (es) {
    if (typeof es.urgency === "string") out.severity ??= es.urgency;
    if (Array.isArray(es.binaries)) {
      const names = es.binaries
        .map((b) => (typeof b === "string" ? b : (b as { binary_name?: unknown })?.binary_name))
        .filter((b): b is string => typeof b === "string");
      if (names.length) out.binaries = [...new Set(names)];
    }
  }
  const informational = e.database_specific?.informational;
  if (typeof informational === "string" && informational) a.informational = informational;
  return out;
}

/** Validates and converts one decoded record (JSON object or YAML mapping). */
export function* osvItems(value: unknown, document: string): Generator<ImportItem> {
  const parsed = osvRecord.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const id = (value as { id?: unknown } | null)?.id;
    yield {
      kind: "problem",
      problem: {
        feed: "osv",
        document: typeof id === "string" ? `${document} (${id})` : document,
        reason: `not an OSV record: ${issue.path.join(".") || "(top)"}: ${issue.message}`,
      },
    };
    return;
  }
  const r = parsed.data;
  const warnings: string[] = [];
  for (const k of unknownFields(r, KNOWN_RECORD_FIELDS)) warnings.push(`unknown field ${k}`);
  let advisory: Advisory;
  try {
    advisory = convert(r, (m) => warnings.push(m));
  } catch (e) {
    if (e instanceof SkipRecord) {
      yield { kind: "skipped", document: `${document} (${r.id})`, reason: e.message };
      return;
    }
    if (e instanceof OsvRangeError || e instanceof CvssError) {
      yield {
        kind: "problem",
        problem: { feed: "osv", document: `${document} (${r.id})`, reason: `record refused: ${e.message}` },
      };
      return;
    }
    throw e;
  }
  for (const w of warnings) {
    yield { kind: "problem", problem: { feed: "osv", document: `${document} (${r.id})`, reason: w } };
  }
  yield { kind: "advisory", advisory };
}

function isYamlName(name: string): boolean {
  return /\.ya?ml$/i.test(name);
}

export const osvImporter: FeedImporter = {
  id: "osv",
  upstream: osvUpstream,
  recognizes({ name, head }) {
    const text = head.toString("utf8");
    if (isYamlName(name)) {
      return (
        (YAML_ID_RE.test(text) && YAML_OSV_KEY_RE.test(text)) ||
        (YAML_AFFECTED_RE.test(text) && YAML_ECOSYSTEM_RE.test(text))
      );
    }
    if (!/\.json$/i.test(name)) return false;
    if (
      text.includes('"cveMetadata"') ||
      text.includes('"CVE_Items"') ||
      text.includes('"sourceIdentifier"')
    ) {
      return false;
    }
    return (
      (JSON_ID_RE.test(text) && JSON_OSV_KEY_RE.test(text)) ||
      (JSON_AFFECTED_RE.test(text) && JSON_PACKAGE_RE.test(text))
    );
  },
  *parse(doc: FeedDocument): Iterable<ImportItem> {
    let value: unknown;
    try {
      const text = doc.content.toString("utf8");
      value = isYamlName(doc.name) ? parseOsvYaml(text) : JSON.parse(text);
    } catch (e) {
      const what = isYamlName(doc.name) ? "YAML" : "JSON";
      yield {
        kind: "problem",
        problem: {
          feed: "osv",
          document: doc.name,
          reason: `invalid ${what}: ${(e as Error).message.split("\n")[0]}`,
        },
      };
      return;
    }
    // osv.dev API dumps and some mirrors hold several records in one array.
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) yield* osvItems(v, `${doc.name}[${i}]`);
    } else {
      yield* osvItems(value, doc.name);
    }
  },
};
