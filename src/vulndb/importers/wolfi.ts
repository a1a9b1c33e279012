import type { Advisory, Affected } from "../types.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";
import {
  advisoryItem,
  decompress,
  ecosystemRange,
  firstYamlKey,
  guarded,
  isRecord,
  loadYaml,
  memberPath,
  peekText,
  problemItem,
  str,
  strList,
} from "./native-feed-common.js";

/**
 * Wolfi advisories (wolfi-dev/advisories, `<package>.advisories.yaml`, schema 2.0.x): per
 * package, advisories `CGA-xxxx-xxxx-xxxx` with aliases (CVE/GHSA) and a history of events.
 * The latest event by timestamp is the current state:
 *
 * - `fixed` → affected below `data.fixed-version` (an apk version);
 * - `false-positive-determination` → not_affected (the reason goes into `details`);
 * - `fix-not-planned` → will_not_fix, no fixed version;
 * - `detection`, `true-positive-determination`, `pending-upstream-fix` → affected, no fix.
 *
 * Ecosystem `wolfi` (a rolling distro: no release). Package = the origin package the file is
 * named after; subpackages map to it as for Alpine.
 */

const FEED = "wolfi";

/**
 * The last commit published under Apache-2.0 (2025-05-07, see PROVENANCE.md): later commits
 * carry a licence that forbids use by commercial scanners, and the repository is archived.
 */
const LAST_APACHE_COMMIT = "244709c9529794d8102e1b5fba03ba0fb27e6957";

export const wolfiUpstream = [
  {
    url: `https://github.com/wolfi-dev/advisories/archive/${LAST_APACHE_COMMIT}.tar.gz`,
    mirrorPath: "wolfi/advisories.tar.gz",
  },
];

type State = Pick<Affected, "status" | "ranges">;

/** The state an event leaves the advisory in, or a reason it cannot be read. */
function stateOf(event: Record<string, unknown>): State | string {
  const type = str(event.type);
  const data = isRecord(event.data) ? event.data : {};
  switch (type) {
    case "fixed": {
      const version = str(data["fixed-version"]);
      return version
        ? { status: "affected", ranges: [ecosystemRange(version)] }
        : "fixed event without fixed-version";
    }
    case "false-positive-determination":
      return { status: "not_affected", ranges: [] };
    case "fix-not-planned":
      return { status: "will_not_fix", ranges: [ecosystemRange()] };
    case "detection":
    case "true-positive-determination":
    case "pending-upstream-fix":
      return { status: "affected", ranges: [ecosystemRange()] };
    default:
      return `unknown event type ${JSON.stringify(event.type)}`;
  }
}

/** Why Wolfi decided what it did, for the finding's explanation. */
function explanation(event: Record<string, unknown>): string | undefined {
  const data = isRecord(event.data) ? event.data : {};
  const parts = [str(event.type), str(data.type), str(data.note)].filter((x) => x !== undefined);
  return str(event.type) === "fixed" || str(event.type) === "detection" ? undefined : parts.join(": ");
}

function* parseFile(doc: FeedDocument): Generator<ImportItem> {
  const yaml = loadYaml(decompress(doc.content).toString("utf8"));
  if (!yaml.ok) {
    yield problemItem(FEED, doc.name, yaml.error);
    return;
  }
  const y = yaml.value;
  const pkg = isRecord(y) && isRecord(y.package) ? str(y.package.name) : undefined;
  if (!isRecord(y) || !pkg) {
    yield problemItem(FEED, doc.name, "no package.name");
    return;
  }
  if (y.advisories === undefined || y.advisories === null) return;
  if (!Array.isArray(y.advisories)) {
    yield problemItem(FEED, doc.name, "advisories is not a list");
    return;
  }
  for (const [i, a] of y.advisories.entries()) {
    const id = isRecord(a) ? str(a.id) : undefined;
    if (!isRecord(a) || !id) {
      yield problemItem(FEED, doc.name, `advisories[${i}]: no id`);
      continue;
    }
    const events = Array.isArray(a.events) ? a.events.filter(isRecord) : [];
    // Latest by timestamp; equal (or unreadable) timestamps keep file order, later wins.
    let latest: { event: Record<string, unknown>; at: number } | undefined;
    let first: string | undefined;
    let last: string | undefined;
    let badTime = false;
    for (const event of events) {
      const ts = str(event.timestamp);
      const at = ts ? Date.parse(ts) : NaN;
      if (Number.isNaN(at)) badTime = true;
      else {
        if (!first || at < Date.parse(first)) first = ts;
        if (!last || at >= Date.parse(last)) last = ts;
      }
      const t = Number.isNaN(at) ? -Infinity : at;
      if (!latest || t >= latest.at) latest = { event, at: t };
    }
    if (!latest) {
      yield problemItem(FEED, doc.name, `${id}: no events`);
      continue;
    }
    if (badTime) yield problemItem(FEED, doc.name, `${id}: an event has no readable timestamp`);
    const state = stateOf(latest.event);
    if (typeof state === "string") {
      yield problemItem(FEED, doc.name, `${id}: ${state}`);
      continue;
    }
    const advisory: Advisory = {
      id,
      source: FEED,
      aliases: strList(a.aliases),
      affected: [{ ecosystem: "wolfi", package: pkg, ...state }],
    };
    const why = explanation(latest.event);
    if (why) advisory.details = why;
    if (first) advisory.published = first;
    if (last) advisory.modified = last;
    yield advisoryItem(advisory);
  }
}

export const wolfiImporter: FeedImporter = {
  id: FEED,
  upstream: wolfiUpstream,
  recognizes({ name, head }) {
    if (!/\.advisories\.ya?ml$/.test(memberPath(name))) return false;
    const key = firstYamlKey(peekText(head, 512));
    return key === "schema-version" || key === "package";
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseFile(doc));
  },
};
