import type { Advisory, Affected } from "../types.js";
import { debianEcosystem } from "./debian-releases.js";
import { isCve } from "../../core/cve.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";
import {
  advisoryItem,
  decompress,
  ecosystemRange,
  guarded,
  memberPath,
  peekText,
  problemItem,
  uniquePush,
} from "./native-feed-common.js";

/**
 * The Debian security tracker's advisory lists, `data/DSA/list` (Debian Security Advisories)
 * and `data/DLA/list` (Debian LTS Advisories):
 *
 *     [29 Mar 2023] DSA-5380-1 xorg-server - security update
 *             {CVE-2023-1393}
 *             [bullseye] - xorg-server 2:1.20.11-1+deb11u6
 *
 * One Advisory per DSA/DLA id, its CVEs as aliases, one Affected per release line: the
 * source package is fixed in that version (`<not-affected>`, `<unfixed>` and `<end-of-life>`
 * stand where old entries had no version). The lists say nothing about CVEs left unfixed.
 */

const FEED = "debian-dsa";

const TRACKER_RAW = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data";

export const debianDsaUpstream = [
  { url: `${TRACKER_RAW}/DSA/list`, mirrorPath: "debian/DSA-list" },
  { url: `${TRACKER_RAW}/DLA/list`, mirrorPath: "debian/DLA-list" },
];

/** `data/DSA/list`, `DSA-list.gz`, or a bare `DSA`/`DLA` file (as in test fixtures). */
const PATH_RE = /(?:^|\/)(?:(DSA|DLA)\/list|(DSA|DLA)(?:-list)?(?:\.gz)?)$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const HEADER_RE = /^\[(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})\]\s+((?:DSA|DLA)-\d+(?:-\d+)?)(?:\s+(.*))?$/;
const IDS_RE = /^\s+\{([^}]*)\}\s*$/;
const RELEASE_RE = /^\s+\[([a-z-]+)\]\s+-\s+(\S+)(?:\s+(<[a-z-]+>|[^\s(]+))?(?:\s+\((.*)\))?\s*$/;
const NOTE_RE = /^\s+NOTE:/;

/** Version column markers of old entries (a version is the normal case). */
const MARKERS: Readonly<Record<string, Pick<Affected, "status" | "ranges">>> = {
  "<not-affected>": { status: "not_affected", ranges: [] },
  "<unfixed>": { status: "affected", ranges: [ecosystemRange()] },
  "<end-of-life>": { status: "will_not_fix", ranges: [ecosystemRange()] },
};

function* parseList(doc: FeedDocument): Generator<ImportItem> {
  const text = decompress(doc.content).toString("utf8");
  const source = /DLA/.test(baseKind(doc.name)) ? "debian-dla" : "debian-dsa";
  let current: Advisory | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "" || NOTE_RE.test(line)) continue;
    const header = HEADER_RE.exec(line);
    if (header) {
      if (current) yield advisoryItem(current);
      const [, day, month, year, id, rest] = header;
      const m = MONTHS.indexOf(month!);
      current = {
        id: id!,
        source,
        aliases: [],
        references: [{ type: "ADVISORY", url: `https://security-tracker.debian.org/tracker/${id}` }],
        affected: [],
      };
      if (m >= 0) current.published = `${year}-${String(m + 1).padStart(2, "0")}-${day!.padStart(2, "0")}`;
      // "<source packages> - <title>": the packages alone say more than "security update".
      if (rest?.trim()) current.summary = rest.trim().replace(/\s+/g, " ");
      continue;
    }
    if (!current) {
      yield problemItem(FEED, doc.name, `line ${i + 1}: text before the first advisory header`);
      continue;
    }
    const ids = IDS_RE.exec(line);
    if (ids) {
      const tokens = ids[1]!.split(/\s+/).filter((t) => t !== "");
      for (const t of tokens) uniquePush(current.aliases, t);
      const odd = tokens.filter((t) => !isCve(t));
      if (odd.length > 0)
        yield problemItem(FEED, doc.name, `line ${i + 1}: ${current.id}: not CVE ids: ${odd.join(" ")}`);
      continue;
    }
    const rel = RELEASE_RE.exec(line);
    if (rel) {
      const [, codename, pkg, version, notes] = rel;
      const ecosystem = debianEcosystem(codename!);
      if (!ecosystem) {
        yield problemItem(FEED, doc.name, `line ${i + 1}: ${current.id}: unknown release [${codename}]`);
        continue;
      }
      if (!version) {
        yield problemItem(FEED, doc.name, `line ${i + 1}: ${current.id}: no version for ${pkg}`);
        continue;
      }
      const verdict = version.startsWith("<")
        ? MARKERS[version]
        : { status: "affected" as const, ranges: [ecosystemRange(version)] };
      if (!verdict) {
        yield problemItem(FEED, doc.name, `line ${i + 1}: ${current.id}: unknown marker ${version}`);
        continue;
      }
      const affected: Affected = { ecosystem, package: pkg!, ...verdict };
      // Some early entries carry the urgency in their notes: "(bug #322591; medium)".
      const urgency = notes?.split(/[;,]\s*/).find((n) => /^(low|medium|high)$/.test(n.trim()));
      if (urgency) affected.severity = urgency.trim();
      current.affected.push(affected);
      continue;
    }
    yield problemItem(
      FEED,
      doc.name,
      `line ${i + 1}: ${current.id}: unrecognized line ${JSON.stringify(line.trim())}`,
    );
  }
  if (current) yield advisoryItem(current);
}

/** "DSA" or "DLA" from the document name (`data/DLA/list`, `DLA-list.gz`). */
function baseKind(name: string): string {
  const m = PATH_RE.exec(memberPath(name));
  return m?.[1] ?? m?.[2] ?? "DSA";
}

export const debianDsaImporter: FeedImporter = {
  id: FEED,
  upstream: debianDsaUpstream,
  recognizes({ name, head }) {
    return (
      PATH_RE.test(memberPath(name)) && /^\[\d{1,2} [A-Z][a-z]{2} \d{4}\] D[SL]A-\d/.test(peekText(head, 256))
    );
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseList(doc));
  },
};
