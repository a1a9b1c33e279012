/**
 * The normalized advisory: one OSV-shaped record per advisory whatever the feed it came from.
 * Importers produce these; the database stores them; matchers read them. See
 * docs/vulndb.md for how each feed maps onto it.
 */

/**
 * Where an affected entry applies: a language ecosystem (the purl type of the packages it
 * matches: npm, pypi, maven, golang, gem, cargo, nuget, composer) or a distro release
 * `<os-release id>:<release>`: `debian:12`, `ubuntu:22.04`, `alpine:3.19`, `almalinux:9`,
 * `rhel:9`, `rocky:9`, `azurelinux:3.0`, `wolfi` (rolling: no release).
 */
export type EcosystemKey = string;

export type RangeEvent =
  { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

/** An OSV range: events over the ecosystem's version order (ECOSYSTEM) or SemVer 2 (SEMVER). */
export interface EventRange {
  type: "ECOSYSTEM" | "SEMVER";
  events: RangeEvent[];
}

/**
 * A range in the ecosystem's own syntax, for feeds that publish constraints instead of
 * events (RubySec, FriendsOfPHP, Node.js WG): affected when `vulnerable` is satisfied (if
 * given) and none of `unaffected` is.
 */
export interface NativeRange {
  type: "NATIVE";
  vulnerable?: string;
  unaffected?: string[];
}

export type AffectedRange = EventRange | NativeRange;

/**
 * A distro's verdict for a package, where the feed states one:
 * - affected: vulnerable below the fixed version in `ranges` (or with no fix yet);
 * - not_affected: never vulnerable in this release (Alpine "0", Debian fixed_version "0",
 *   Wolfi false positive): matchers must never report it;
 * - will_not_fix: vulnerable, and the distro does not plan a fix (Debian no-dsa ignored/
 *   postponed, Wolfi fix-not-planned, Red Hat "Will not fix");
 * - undetermined: not yet triaged (reported as unfixed, low confidence).
 */
export type DistroStatus = "affected" | "not_affected" | "will_not_fix" | "undetermined";

export interface Affected {
  ecosystem: EcosystemKey;
  /**
   * Package name as matched: source package for distros, PEP 503-normalized for PyPI,
   * `group:artifact` for Maven, lowercase for NuGet, as published otherwise.
   */
  package: string;
  ranges: AffectedRange[];
  /** Explicitly enumerated affected versions. */
  versions?: string[];
  status?: DistroStatus;
  /** The vendor's (distro's) severity word for this package, as published (e.g. Debian urgency, Red Hat Important). */
  severity?: string;
  /** Distro binaries built from the source package, when the feed lists them (Ubuntu). */
  binaries?: string[];
}

export interface SeverityScore {
  type: "CVSS_V2" | "CVSS_V3" | "CVSS_V4";
  /** The vector string. */
  vector: string;
  /** Base score when known (computed or published). */
  score?: number;
  /** Who scored it: nvd, cisa-adp, the feed id. */
  source?: string;
}

export interface Advisory {
  /** The feed's id: CVE-2024-1234, GHSA-…, GO-2023-1234, DSA-5380-1, ALSA-2024:0001, RUSTSEC-… */
  id: string;
  /** The importer that produced it (osv, alpine-secdb, debian-dsa, ubuntu-oval, …). */
  source: string;
  aliases: string[];
  related?: string[];
  /** OSV 1.6 `upstream`: the vulnerabilities this one derives from (Ubuntu's CVE for UBUNTU-CVE-…). */
  upstream?: string[];
  summary?: string;
  details?: string;
  published?: string;
  modified?: string;
  /** Set when the record was retracted: never reported. */
  withdrawn?: string;
  /** Vendor severity word for the whole advisory (GHSA MODERATE, Red Hat Important, …). */
  severity?: string;
  /**
   * Set on advisories that are not vulnerabilities (RustSec `informational`: unmaintained,
   * unsound, notice): shown separately, never as a CVE finding.
   */
  informational?: string;
  cvss?: SeverityScore[];
  references?: { type?: string; url: string }[];
  affected: Affected[];
}

/** CVSS, EPSS and KEV facts about a CVE, from the enrichment feeds. */
export interface Enrichment {
  cve: string;
  cvss?: SeverityScore[];
  /** `date` is the score date (YYYY-MM-DD) when the feed states it; `model` FIRST's model_version. */
  epss?: { score: number; percentile: number; date?: string; model?: string };
  kev?: {
    dateAdded: string;
    dueDate?: string;
    knownRansomwareCampaignUse?: string;
    vendorProject?: string;
    product?: string;
  };
  /** CISA's SSVC decision points (vulnrichment CISA-ADP container). */
  ssvc?: { exploitation?: string; automatable?: string; technicalImpact?: string; date?: string };
}

/** A document an importer could not read: reported with the feed and id, the import goes on. */
export interface FeedProblem {
  feed: string;
  /** File, archive member or record id. */
  document: string;
  reason: string;
}
