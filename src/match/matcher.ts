import type { Distro, Package } from "../catalog/types.js";
import type { Advisory, Affected, Enrichment, SeverityScore } from "../vulndb/types.js";
import { matchKeyOf } from "./keys.js";
import type { LookupKey, Matcher, RangeType } from "./matcher-types.js";
import { matcherFor, matchersFor } from "./registry.js";
import { evaluateAffected, type RangeVerdict } from "./ranges.js";
import { decideSeverity } from "./severity.js";
import type { AdvisoryLookup } from "./types.js";
import type { Finding } from "../findings/finding.js";
import { compareStrings as cmp } from "../core/compare.js";
import { isCve } from "../core/cve.js";

export interface MatchOptions {
  /** Only these package ecosystems (BASIC scanning: deb, apk, rpm). */
  ecosystems?: readonly string[];
  /**
   * Only the packages with one of these match keys (keys.ts `matchKeyOf`: the changed keys of a
   * database diff), for a re-match. Such a package is matched under all its lookup keys (a
   * finding may come from any of them), so its findings are exactly those of a full match,
   * except `fixAvailable` PARTIAL, which depends on the image's other packages: a re-match that
   * merges these findings with the stored ones of the other packages recomputes it with
   * `markPartialFixes` over the merged set. Only the matchers `matchersFor(keys)` names run.
   */
  keys?: ReadonlySet<string>;
}

/**
 * Advisories that bundle several CVEs (DSA/DLA, USN, RHSA, RLSA, ALSA) are reported as one
 * finding per CVE, taken from aliases and `related` (AlmaLinux lists its CVEs there). Any
 * other advisory is reported under its CVE when its aliases name exactly one, else under its
 * own id. `related` does not count for those: in OSV it names *other* vulnerabilities
 * (GO-2023-2102 is CVE-2023-39325 and only related to CVE-2023-44487).
 */
function vulnerabilityIds(a: Advisory): string[] {
  if (isCve(a.id)) return [a.id];
  const bundles = /^(DSA|DLA|USN|RHSA|RLSA|ALSA|ALBA|ALEA|ELSA)-/.test(a.id);
  if (bundles) {
    const cves = [...new Set([...a.aliases, ...(a.related ?? [])].filter(isCve))];
    if (cves.length) return cves;
  }
  const cves = [...new Set(a.aliases.filter(isCve))];
  if (cves.length === 1) return cves;
  return [a.id];
}

/**
 * Evaluates one affected entry with the key's matcher: its adjustments (rpm epochs) first, then
 * each range type with the scheme the matcher chooses for it (OSV SEMVER vs ECOSYSTEM).
 */
function evaluate(matcher: Matcher, key: LookupKey, entry: Affected): RangeVerdict | null {
  const affected = matcher.adjust ? matcher.adjust(key, entry) : entry;
  let best: RangeVerdict | null = null;
  const byType = new Map<RangeType, Affected["ranges"]>();
  for (const r of affected.ranges) {
    const list = byType.get(r.type) ?? [];
    list.push(r);
    byType.set(r.type, list);
  }
  if (!affected.ranges.length) byType.set("ECOSYSTEM", []);
  for (const [type, ranges] of byType) {
    const scheme = matcher.rangeScheme(key, type);
    if (!scheme) continue;
    // OSV SEMVER versions are written without a `v`.
    const version = type === "SEMVER" ? key.version.replace(/^v/, "") : key.version;
    const v = evaluateAffected(version, { ...affected, ranges }, scheme);
    if (v.affected && (!best || (!best.fixed && v.fixed))) best = v;
  }
  return best;
}

interface KeyMatch {
  adv: Advisory;
  aff: Affected;
  verdict: RangeVerdict;
}

/** The affected entries of a key's advisories that its version falls in, with their verdicts. */
function keyMatches(matcher: Matcher, key: LookupKey, advisories: Advisory[]): KeyMatch[] {
  const out: KeyMatch[] = [];
  for (const adv of advisories) {
    if (adv.withdrawn) continue;
    for (const aff of adv.affected) {
      if (aff.ecosystem !== key.ecosystem || aff.package !== key.name) continue;
      if (aff.status === "not_affected") continue;
      let verdict: RangeVerdict | null;
      if (aff.ranges.length === 0 && !aff.versions?.length) {
        // A distro status without ranges: affected in every version (no fix published).
        verdict = aff.status ? { affected: true } : null;
      } else {
        verdict = evaluate(matcher, key, aff);
      }
      if (verdict?.affected) out.push({ adv, aff, verdict });
    }
  }
  return out;
}

/**
 * Matches an inventory against the database: for each package, the matcher that handles it
 * (registry.ts) gives its lookup keys; for each key, each advisory affecting that key, evaluate
 * the ranges with the scheme the matcher chooses; distro statuses are honoured (not_affected
 * never reported, will_not_fix reported without a fix). Findings are unique per (package
 * instance, vulnerability id).
 */
export function matchPackages(
  packages: readonly Package[],
  distro: Distro | null,
  db: AdvisoryLookup,
  opts: MatchOptions = {},
): Finding[] {
  const findings = new Map<string, Finding>();
  const wanted = opts.ecosystems ? new Set(opts.ecosystems) : null;
  // The vendor's severity words (per package, then per advisory), decided after enrichment.
  const vendorWords = new Map<Finding, (string | undefined)[]>();

  // One read per (ecosystem, name) and one verdict per (key, version) and call: the same
  // package is often found at several paths (a lock file and node_modules, requirements.txt and
  // dist-info), and reading is most of the cost (rows parsed and merged across feeds).
  const read = new Map<string, Advisory[]>();
  const advisoriesFor = (ecosystem: string, name: string): Advisory[] => {
    const k = `${ecosystem}\u0000${name}`;
    let list = read.get(k);
    if (!list) read.set(k, (list = db.advisoriesFor(ecosystem, name)));
    return list;
  };
  const decided = new Map<string, KeyMatch[]>();
  const matchesOf = (matcher: Matcher, key: LookupKey): KeyMatch[] => {
    const k = `${matcher.id}\u0000${key.ecosystem}\u0000${key.name}\u0000${key.version}\u0000${key.scheme}\u0000${key.epoch ?? ""}`;
    let list = decided.get(k);
    if (!list) decided.set(k, (list = keyMatches(matcher, key, advisoriesFor(key.ecosystem, key.name))));
    return list;
  };
  // A re-match: only the matchers the changed keys concern, only packages with such a key.
  const only = opts.keys;
  const concerned = only ? new Set(matchersFor(only)) : null;

  for (const pkg of packages) {
    if (wanted && !wanted.has(pkg.ecosystem)) continue;
    if (!pkg.version) continue;
    const matcher = matcherFor(pkg, distro);
    if (!matcher || (concerned && !concerned.has(matcher))) continue;
    const keys = matcher.lookupKeys(pkg, distro);
    if (only && !keys.some((k) => only.has(matchKeyOf({ ecosystem: k.ecosystem, package: k.name }))))
      continue;
    for (const key of keys) {
      for (const { adv, aff, verdict } of matchesOf(matcher, key)) {
        for (const vid of vulnerabilityIds(adv)) {
          const instance = `${pkg.ecosystem}\u0000${pkg.name}\u0000${pkg.version}\u0000${pkg.path}\u0000${pkg.archivePath ?? ""}\u0000${vid}`;
          const prev = findings.get(instance);
          // Several advisories may name the same vulnerability (a DSA and the tracker, a GO and
          // a GHSA record): one finding, keeping the one that knows the fix, with every
          // advisory id among its aliases.
          if (prev && (prev.fixedVersion || !verdict.fixed)) {
            for (const a of [adv.id, ...adv.aliases])
              if (a !== vid && !prev.aliases.includes(a)) prev.aliases.push(a);
            continue;
          }
          const status =
            aff.status === "will_not_fix"
              ? "will_not_fix"
              : aff.status === "undetermined"
                ? "undetermined"
                : "affected";
          const fixed = status === "affected" ? verdict.fixed : undefined;
          const finding: Finding = {
            vulnerabilityId: vid,
            aliases: [
              ...new Set([adv.id, ...adv.aliases, ...(prev?.aliases ?? [])].filter((a) => a !== vid)),
            ],
            severity: "UNDEFINED",
            severitySource: "none",
            title: adv.summary,
            description: adv.details,
            package: {
              name: pkg.name,
              version: pkg.version,
              ecosystem: pkg.ecosystem,
              purl: pkg.purl,
              layer: pkg.layer,
              path: pkg.path,
              ...(pkg.sourceName ? { sourceName: pkg.sourceName } : {}),
              ...(pkg.sourceVersion ? { sourceVersion: pkg.sourceVersion } : {}),
              ...(pkg.archivePath ? { archivePath: pkg.archivePath } : {}),
            },
            fixedVersion: fixed,
            fixAvailable: fixed ? "YES" : "NO",
            status,
            cvss: adv.cvss ?? [],
            kev: false,
            // Feeds list a URL once per reference type (PYSEC-2023-87: the fix commit as FIX and
            // as WEB); a finding lists each URL once, in the feed's order.
            references: [...new Set((adv.references ?? []).map((r) => r.url))],
            source: adv.source,
            explanation: {
              advisory: adv.id,
              source: adv.source,
              ecosystem: key.ecosystem,
              package: key.name,
              version: key.version,
              scheme: key.scheme,
              matched: verdict.matched ?? "status",
              ...(verdict.range ? { range: verdict.range } : {}),
              ...(aff.status ? { status: aff.status } : {}),
            },
          };
          vendorWords.set(finding, [aff.severity, adv.severity]);
          findings.set(instance, finding);
        }
      }
    }
  }

  // Enrichment in one batch: CVSS where the advisory has none, EPSS, KEV.
  const out = [...findings.values()];
  const allCves = [...new Set(out.flatMap((f) => [f.vulnerabilityId, ...f.aliases]).filter(isCve))];
  const enrich = allCves.length ? db.enrichment(allCves) : new Map<string, Enrichment>();
  for (const f of out) {
    // A CVE finding is enriched by that CVE; a finding under another id (a GHSA naming two
    // CVEs) by all its CVE aliases: exploited if any is, the highest EPSS, every CVSS score.
    const own = enrich.get(f.vulnerabilityId);
    const es = own
      ? [own]
      : f.aliases.map((a) => enrich.get(a)).filter((x): x is Enrichment => x !== undefined);
    const cvss: SeverityScore[] = [...f.cvss, ...es.flatMap((e) => e.cvss ?? [])];
    f.cvss = dedupeCvss(cvss);
    const epss = es
      .map((e) => e.epss)
      .filter((x) => x !== undefined)
      .sort((a, b) => b.score - a.score)[0];
    if (epss) f.epss = { score: epss.score, percentile: epss.percentile };
    f.kev = es.some((e) => e.kev);
    const s = decideSeverity(vendorWords.get(f) ?? [], f.cvss);
    f.severity = s.severity;
    f.severitySource = s.source;
    if (s.vendor) f.vendorSeverity = s.vendor;
  }
  markPartialFixes(out);
  // Code-point order, not localeCompare: the same on every machine, and ICU collation was a
  // tenth of the matching time on a 1,000-package inventory.
  return out.sort(
    (a, b) =>
      cmp(a.vulnerabilityId, b.vulnerabilityId) ||
      cmp(a.package.name, b.package.name) ||
      cmp(a.package.path, b.package.path) ||
      cmp(a.package.archivePath ?? "", b.package.archivePath ?? ""),
  );
}

function dedupeCvss(list: SeverityScore[]): SeverityScore[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    const k = `${c.type}|${c.vector}|${c.source ?? ""}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Sets `fixAvailable` from the findings of one image: YES with a fixed version; a vulnerability
 * fixed for some affected packages of the image and not others is PARTIAL for those others
 * (as in ECR); else NO. Recomputed from scratch (idempotent): a re-match calls it again over
 * the merged findings of the image (those re-matched and those kept).
 */
export function markPartialFixes(findings: Finding[]): void {
  const byVuln = new Map<string, Finding[]>();
  for (const f of findings) {
    const list = byVuln.get(f.vulnerabilityId) ?? [];
    list.push(f);
    byVuln.set(f.vulnerabilityId, list);
  }
  for (const list of byVuln.values()) {
    const fixed = list.filter((f) => f.fixedVersion).length;
    for (const f of list)
      f.fixAvailable = f.fixedVersion ? "YES" : fixed > 0 && fixed < list.length ? "PARTIAL" : "NO";
  }
}
