import type { Advisory, Affected } from "../types.js";
import { isCve } from "../../core/cve.js";
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
  uniquePush,
} from "./native-feed-common.js";

/**
 * Alpine secdb (`secdb.alpinelinux.org/<branch>/<repo>.json`): per origin package, a map
 * `secfixes` from the first fixed apk version to the ids it fixes. One document is one branch
 * and repository; it becomes one Advisory per vulnerability id (mostly CVEs) listing the
 * packages of that document that fix it. The same id recurs in other branches' documents with
 * other ecosystems (`alpine:3.20`, `alpine:3.21`, …): the database merges by (source, id).
 */

const FEED = "alpine-secdb";

/** `v3.21/main.json`, `alpine/edge/community.json`, `…tar.gz!v3.18/main.json`. */
const PATH_RE = /(?:^|\/)(v\d+\.\d+|edge)\/(main|community)\.json$/;

/** Branches with a secdb at secdb.alpinelinux.org (v3.2 had no community repository). */
const BRANCHES = [...Array.from({ length: 20 }, (_, i) => `v3.${i + 2}`), "edge"];

export const alpineUpstream = BRANCHES.flatMap((b) =>
  (b === "v3.2" ? ["main"] : ["main", "community"]).map((repo) => ({
    url: `https://secdb.alpinelinux.org/${b}/${repo}.json`,
    mirrorPath: `alpine/${b}/${repo}.json`,
  })),
);

/** `v3.21` → `alpine:3.21`, `edge` → `alpine:edge`. */
export function alpineEcosystem(distroversion: string): string | undefined {
  const m = /^v?(\d+\.\d+)$/.exec(distroversion);
  if (m) return `alpine:${m[1]}`;
  return distroversion === "edge" ? "alpine:edge" : undefined;
}

interface Entry {
  aliases: string[];
  /** Per package: the fixed versions listing the id, and whether key "0" lists it. */
  packages: Map<string, { fixed: string[]; notAffected: boolean }>;
}

function* parseSecdb(doc: FeedDocument): Generator<ImportItem> {
  const json = loadJson(decompress(doc.content).toString("utf8"));
  if (!json.ok) {
    yield problemItem(FEED, doc.name, json.error);
    return;
  }
  const root = json.value;
  if (!isRecord(root) || !Array.isArray(root.packages)) {
    yield problemItem(FEED, doc.name, "not a secdb document: no packages list");
    return;
  }
  // The document says which branch it is; the path is the fallback (and names it in problems).
  const branch = str(root.distroversion) ?? PATH_RE.exec(memberPath(doc.name))?.[1];
  const ecosystem = branch ? alpineEcosystem(branch) : undefined;
  if (!ecosystem) {
    yield problemItem(FEED, doc.name, `unknown distroversion ${JSON.stringify(root.distroversion)}`);
    return;
  }

  const entries = new Map<string, Entry>();
  const entry = (id: string): Entry => {
    let e = entries.get(id);
    if (!e) entries.set(id, (e = { aliases: [], packages: new Map() }));
    return e;
  };
  const note = (id: string, pkg: string, key: string, aliases: string[]) => {
    const e = entry(id);
    for (const a of aliases) if (a !== id) uniquePush(e.aliases, a);
    let p = e.packages.get(pkg);
    if (!p) e.packages.set(pkg, (p = { fixed: [], notAffected: false }));
    if (key === "0") p.notAffected = true;
    else uniquePush(p.fixed, key);
  };

  const problems: string[] = [];
  root.packages.forEach((item: unknown, i: number) => {
    const pkg = isRecord(item) && isRecord(item.pkg) ? item.pkg : undefined;
    const name = pkg ? str(pkg.name) : undefined;
    if (!pkg || !name) {
      problems.push(`packages[${i}]: no pkg.name`);
      return;
    }
    if (pkg.secfixes === undefined || pkg.secfixes === null) return;
    if (!isRecord(pkg.secfixes)) {
      problems.push(`${name}: secfixes is not a map`);
      return;
    }
    for (const [key, ids] of Object.entries(pkg.secfixes)) {
      const version = key.trim();
      if (!Array.isArray(ids)) {
        if (ids !== null) problems.push(`${name} ${version}: ids are not a list`);
        continue;
      }
      for (const raw of ids) {
        if (typeof raw !== "string") continue;
        // One entry may name the same flaw several ways ("CVE-2021-27219 GHSL-2021-045"):
        // each CVE is its own advisory with the other names as aliases; without a CVE, each
        // token is an id with the others as aliases.
        const tokens = raw.split(/\s+/).filter((t) => t !== "");
        const cves = tokens.filter((t) => isCve(t));
        const others = tokens.filter((t) => !isCve(t));
        if (cves.length > 0) for (const cve of cves) note(cve, name, version, others);
        else for (const t of tokens) note(t, name, version, tokens);
      }
    }
  });
  for (const p of problems) yield problemItem(FEED, doc.name, p);

  for (const [id, e] of entries) {
    const affected: Affected[] = [];
    for (const [pkg, p] of e.packages) {
      if (p.fixed.length > 0)
        affected.push({
          ecosystem,
          package: pkg,
          status: "affected",
          ranges: p.fixed.map((f) => ecosystemRange(f)),
        });
      // Key "0": never affected in this branch. Kept as its own entry so that matchers can
      // suppress the id even where another key of the same package lists it too.
      if (p.notAffected) affected.push({ ecosystem, package: pkg, status: "not_affected", ranges: [] });
    }
    const advisory: Advisory = { id, source: FEED, aliases: e.aliases, affected };
    yield advisoryItem(advisory);
  }
}

export const alpineSecdbImporter: FeedImporter = {
  id: FEED,
  upstream: alpineUpstream,
  recognizes({ name, head }) {
    return PATH_RE.test(memberPath(name)) && /^\s*\{/.test(peekText(head, 256));
  },
  parse(doc) {
    return guarded(FEED, doc.name, () => parseSecdb(doc));
  },
};
