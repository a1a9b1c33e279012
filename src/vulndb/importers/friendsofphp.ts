import type { Advisory, NativeRange } from "../types.js";
import { isCve } from "../../core/cve.js";
import type { FeedDocument, FeedImporter, ImportItem } from "./types.js";
import {
  advisoryItem,
  decompress,
  baseName,
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
 * FriendsOfPHP/security-advisories: one YAML file per advisory, `<vendor>/<package>/<id>.yaml`,
 * `reference: composer://vendor/package`, and per maintained branch a list of constraints
 * (`['>=2.0.0', '<2.1.0']`) that are AND-ed. Each branch becomes one NativeRange whose
 * `vulnerable` is that constraint in Composer syntax (comma = AND): `>=2.0.0,<2.1.0`; a
 * version is affected when it is inside any branch. A branch `time` of null means "no fix
 * released yet", which the constraint already expresses.
 *
 * Ids: the CVE when there is one, else `FriendsOfPHP:<vendor>/<package>/<file>` (the files
 * have no id of their own); a GHSA id in the link becomes an alias.
 */

const FEED = "friendsofphp";

export const friendsOfPhpUpstream = [
  {
    url: "https://github.com/FriendsOfPHP/security-advisories/archive/refs/heads/master.tar.gz",
    mirrorPath: "friendsofphp/security-advisories.tar.gz",
  },
];

const FIRST_KEYS = new Set(["title", "link", "cve", "branches", "reference", "composer-repository"]);

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
  const ref = /^composer:\/\/([^/\s]+\/[^/\s]+)$/.exec(str(y.reference) ?? "");
  if (!ref) {
    yield problemItem(
      FEED,
      doc.name,
      `reference ${JSON.stringify(y.reference)} is not composer://vendor/package`,
    );
    return;
  }
  const pkg = ref[1]!;
  if (!isRecord(y.branches)) {
    yield problemItem(FEED, doc.name, "no branches");
    return;
  }
  const ranges: NativeRange[] = [];
  for (const [branch, b] of Object.entries(y.branches)) {
    const versions = isRecord(b) ? strList(b.versions) : [];
    if (versions.length === 0) {
      yield problemItem(FEED, doc.name, `branch ${branch}: no versions`);
      continue;
    }
    ranges.push({ type: "NATIVE", vulnerable: versions.join(",") });
  }
  // Without a usable branch there is nothing to match; an empty range list would read as
  // "no constraint" to a careless reader, so the advisory is not emitted.
  if (ranges.length === 0) return;

  const cve = str(y.cve);
  const link = str(y.link);
  const ghsa = /\b(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b/.exec(link ?? "")?.[1];
  const path = memberPath(doc.name);
  const fileId = `FriendsOfPHP:${pkg}/${baseName(path).replace(/\.ya?ml$/, "")}`;
  const id = cve && isCve(cve) ? cve : (ghsa ?? fileId);
  const advisory: Advisory = {
    id,
    source: FEED,
    aliases: ghsa && ghsa !== id ? [ghsa] : [],
    affected: [{ ecosystem: "composer", package: pkg, ranges }],
  };
  if (cve && !isCve(cve)) yield problemItem(FEED, doc.name, `cve ${JSON.stringify(cve)} is not a CVE id`);
  const title = str(y.title);
  if (title) advisory.summary = title;
  if (link) advisory.references = [{ type: "ADVISORY", url: link }];
  yield advisoryItem(advisory);
}

export const friendsOfPhpImporter: FeedImporter = {
  id: FEED,
  upstream: friendsOfPhpUpstream,
  recognizes({ name, head }) {
    const path = memberPath(name);
    if (!/\.ya?ml$/.test(path) || /\.advisories\.ya?ml$/.test(path)) return false;
    const key = firstYamlKey(peekText(head, 512));
    return key !== undefined && FIRST_KEYS.has(key);
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseAdvisory(doc));
  },
};
