import type { Advisory, Affected, DistroStatus } from "../types.js";
import { debianEcosystem } from "./debian-releases.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";
import {
  advisoryItem,
  decompress,
  ecosystemRange,
  guarded,
  isRecord,
  loadJson,
  memberPath,
  peekText,
  problemItem,
  str,
} from "./native-feed-common.js";

/**
 * The Debian security tracker's JSON export (`tracker/data/json`):
 * `{source-package: {vuln-id: {description, debianbug, releases: {codename: {status,
 * fixed_version, urgency, nodsa, nodsa_reason}}}}}`. It becomes one Advisory per vuln id
 * (CVE-… or TEMP-…) with one Affected per (source package, release).
 */

const FEED = "debian-tracker";

export const debianTrackerUpstream = [
  { url: "https://security-tracker.debian.org/tracker/data/json", mirrorPath: "debian/tracker.json" },
];

/** The verdict and range for one release entry of the tracker (see feed-formats.md §2.5). */
export function trackerVerdict(release: Record<string, unknown>): Pick<Affected, "status" | "ranges"> {
  const status = str(release.status);
  const fixed = str(release.fixed_version);
  const urgency = str(release.urgency);
  const nodsaReason = str(release.nodsa_reason);
  if (status === "resolved" && fixed !== undefined) {
    // fixed_version "0": the release never shipped the vulnerable code.
    if (fixed === "0") return { status: "not_affected", ranges: [] };
    return { status: "affected", ranges: [ecosystemRange(fixed)] };
  }
  if (status === "undetermined") return { status: "undetermined", ranges: [ecosystemRange()] };
  // Open (or resolved without a version, which the tracker should not produce): vulnerable
  // with no fix. no-dsa ignored/postponed and end-of-life packages will not get one.
  const willNotFix = nodsaReason === "ignored" || nodsaReason === "postponed" || urgency === "end-of-life";
  const verdict: DistroStatus = willNotFix ? "will_not_fix" : "affected";
  return { status: verdict, ranges: [ecosystemRange()] };
}

/**
 * Debian urgency as the severity word, as published: `low`, `medium`, `high`, `unimportant`,
 * and `high**`-style words whose `**` says "taken from NVD, not assessed by Debian" (kept, so
 * that severity decisions can prefer CVSS over a borrowed rating). `not yet assigned` and
 * `end-of-life` are not severities.
 */
export function trackerSeverity(urgency: unknown): string | undefined {
  const u = str(urgency);
  if (!u || u === "not yet assigned" || u === "end-of-life") return undefined;
  return u;
}

function* parseTracker(doc: FeedDocument): Generator<ImportItem> {
  const json = loadJson(decompress(doc.content).toString("utf8"));
  if (!json.ok) {
    yield problemItem(FEED, doc.name, json.error);
    return;
  }
  if (!isRecord(json.value)) {
    yield problemItem(FEED, doc.name, "not a tracker export: the top level is not an object");
    return;
  }
  const advisories = new Map<string, Advisory>();
  const unknownReleases = new Set<string>();
  for (const [pkg, vulns] of Object.entries(json.value)) {
    if (!isRecord(vulns)) {
      yield problemItem(FEED, doc.name, `${pkg}: not a map of vulnerabilities`);
      continue;
    }
    for (const [id, vuln] of Object.entries(vulns)) {
      // The export writes an empty releases map as [] (PHP-style).
      const raw = isRecord(vuln) ? vuln.releases : undefined;
      const releases = Array.isArray(raw) && raw.length === 0 ? {} : raw;
      if (!isRecord(vuln) || !isRecord(releases)) {
        yield problemItem(FEED, doc.name, `${pkg} ${id}: no releases map`);
        continue;
      }
      let advisory = advisories.get(id);
      if (!advisory) {
        advisory = {
          id,
          source: FEED,
          aliases: [],
          references: [{ type: "ADVISORY", url: `https://security-tracker.debian.org/tracker/${id}` }],
          affected: [],
        };
        const description = str(vuln.description);
        if (description) advisory.details = description;
        advisories.set(id, advisory);
      }
      const bug = vuln.debianbug;
      if (typeof bug === "number" || (typeof bug === "string" && /^\d+$/.test(bug))) {
        const url = `https://bugs.debian.org/${bug}`;
        if (!advisory.references!.some((r) => r.url === url))
          advisory.references!.push({ type: "REPORT", url });
      }
      for (const [codename, release] of Object.entries(releases)) {
        const ecosystem = debianEcosystem(codename);
        if (!ecosystem) {
          unknownReleases.add(codename);
          continue;
        }
        if (!isRecord(release)) {
          yield problemItem(FEED, doc.name, `${pkg} ${id} ${codename}: release entry is not an object`);
          continue;
        }
        const affected: Affected = { ecosystem, package: pkg, ...trackerVerdict(release) };
        const severity = trackerSeverity(release.urgency);
        if (severity) affected.severity = severity;
        advisory.affected.push(affected);
      }
    }
  }
  // A release we cannot name would be dropped silently otherwise (a new codename upstream).
  for (const codename of unknownReleases)
    yield problemItem(
      FEED,
      doc.name,
      `unknown release codename ${JSON.stringify(codename)}: its entries were skipped`,
    );
  for (const advisory of advisories.values()) yield advisoryItem(advisory);
}

export const debianTrackerImporter: FeedImporter = {
  id: FEED,
  upstream: debianTrackerUpstream,
  recognizes({ name, head }) {
    const path = memberPath(name);
    if (!/(?:^|\/)(?:data\/json|[^/]*\.json(?:\.gz)?)$/.test(path)) return false;
    // {"<source package>": {"CVE-…" | "TEMP-…": — cheap and specific to the tracker export.
    return /^\s*\{\s*"[^"]+"\s*:\s*\{\s*"(?:CVE|TEMP)-/.test(peekText(head, 1024));
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseTracker(doc));
  },
};
