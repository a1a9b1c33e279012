import { isOwnershipRelevant, mayBeEvidenceName } from "../../evidence.js";
import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { exactPaths } from "../paths.js";
import { Problems } from "../problems.js";
import { osPurl } from "../purl.js";
import { isBerkeleyHash, readBerkeleyHash } from "./bdb.js";
import { parseHeader, type RpmHeader } from "./header.js";
import { isNdb, readNdb } from "./ndb.js";
import { isSqlite, readRpmSqlite } from "./sqlite.js";

/**
 * The rpm database, in any of its three backends: Berkeley DB `Packages` (RHEL ≤ 8, CentOS,
 * Amazon Linux 2), NDB `Packages.db` (SUSE) and `rpmdb.sqlite` (RHEL 9, Fedora, Amazon Linux
 * 2023, Mariner/Azure Linux), under /var/lib/rpm or /usr/lib/sysimage/rpm. The backend is
 * chosen by the file's magic, not its name, so a renamed or mislabelled file still reads.
 *
 * Package.version is `[epoch:]version-release` (what rpm compares), with epoch and release also
 * in their own fields; the source package comes from SOURCERPM (`name-version-release.src.rpm`)
 * and carries the binary's epoch, which the file name omits but the build shares.
 *
 * Of each package's file list (DIRNAMES, BASENAMES, DIRINDEXES) only the files that can be
 * evidence of a language package are kept (evidence.ts), tested by base name before any path
 * is built.
 */

const DIRS = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/usr/share/rpm/"];
const FILES = ["Packages", "Packages.db", "rpmdb.sqlite"];
const isDatabase = exactPaths(DIRS.flatMap((d) => FILES.map((f) => d + f)));

function readBlobs(buf: Buffer, problems: Problems): Buffer[] {
  if (isSqlite(buf)) return readRpmSqlite(buf, problems);
  if (isNdb(buf)) return readNdb(buf, problems);
  if (isBerkeleyHash(buf)) return readBerkeleyHash(buf, problems);
  problems.add(
    buf.length === 0
      ? "empty rpm database file"
      : "not an rpm database (no SQLite, NDB or Berkeley DB magic)",
  );
  return [];
}

/** `util-linux-2.32.1-42.el8_8.src.rpm` → name util-linux, version 2.32.1, release 42.el8_8. */
export function parseSourceRpm(s: string): { name: string; version: string; release: string } | null {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(s);
  return m ? { name: m[1]!, version: m[2]!, release: m[3]! } : null;
}

function toPackage(h: RpmHeader, path: string, problems: Problems): Package | null {
  if (!h.name || !h.version) {
    problems.add(`header without ${h.name ? `a version (${h.name})` : "a name"}`);
    return null;
  }
  // Imported signing keys are stored as pseudo-packages: not software, nothing to match.
  if (h.name === "gpg-pubkey") return null;
  const evr = (e: number | undefined, v: string, r: string | undefined) =>
    (e !== undefined ? `${e}:` : "") + v + (r ? `-${r}` : "");
  const pkg: Package = {
    name: h.name,
    version: evr(h.epoch, h.version, h.release),
    ecosystem: "rpm",
    purl: "",
    path,
    arch: h.arch || undefined,
    epoch: h.epoch,
    release: h.release || undefined,
    licenses: h.license ? [h.license] : undefined,
    sourceName: h.name,
    sourceVersion: evr(h.epoch, h.version, h.release),
  };
  const metadata: Record<string, string> = {};
  if (h.sourceRpm) {
    metadata.sourceRpm = h.sourceRpm;
    const src = parseSourceRpm(h.sourceRpm);
    if (src) {
      pkg.sourceName = src.name;
      pkg.sourceVersion = evr(h.epoch, src.version, src.release);
    } else problems.add(`${h.name}: unparseable SOURCERPM "${h.sourceRpm}"`);
  }
  if (h.modularityLabel) metadata.modularityLabel = h.modularityLabel;
  if (h.vendor) metadata.vendor = h.vendor;
  if (Object.keys(metadata).length) pkg.metadata = metadata;
  pkg.purl = osPurl(pkg, null);
  return pkg;
}

export const rpmCataloger: Cataloger = {
  id: "rpmdb",
  version: 2,
  ecosystem: "rpm",
  matches(path: string): boolean {
    return isDatabase(path);
  },
  parse(file: CatalogFile): CatalogResult {
    const problems = new Problems();
    const packages: Package[] = [];
    const owned: [string, string][] = [];
    const blobs = readBlobs(file.content, problems);
    for (const blob of blobs) {
      const h = parseHeader(blob, { fileName: mayBeEvidenceName });
      if (typeof h === "string") {
        problems.add(h);
        continue;
      }
      const pkg = toPackage(h, file.path, problems);
      if (!pkg) continue;
      packages.push(pkg);
      if (h.filesProblem) problems.add(`${pkg.name}: file list unreadable: ${h.filesProblem}`);
      for (const path of h.files ?? []) if (isOwnershipRelevant(path)) owned.push([path, pkg.name]);
    }
    return { packages, problems: problems.list(), ...(owned.length ? { owned } : {}) };
  },
};
