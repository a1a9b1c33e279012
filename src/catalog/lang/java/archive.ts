import { purl } from "../../purl.js";
import type { CatalogContext, CatalogResult, Package } from "../../types.js";
import { guessIdentity, manifestLicenses, splitArchiveFileName } from "./identity.js";
import { parseManifest, type Manifest } from "./manifest.js";
import { pomLicenses, pomProperties, type PomProperties } from "./pom.js";
import { readZipDirectory, readZipEntry, ZipError, type ZipEntry } from "./zip.js";

/**
 * Java archives (jar, war, ear, par, and Jenkins' hpi/jpi) and the archives nested in them
 * (Spring Boot's BOOT-INF/lib, WEB-INF/lib, an ear's modules).
 *
 * Per archive: every META-INF/maven/<g>/<a>/pom.properties is a package (a shaded jar carries
 * the ones of what it embeds). When none of them is the archive itself (none matches the file
 * name, and there is not exactly one), the archive's identity is guessed from MANIFEST.MF and
 * the file name (see identity.ts). Only those entries and the nested archives are ever inflated.
 */

export interface JavaArchiveLimits {
  /** Archives inside archives deeper than this are not opened. */
  maxDepth: number;
  /** An archive declaring more entries is not read. */
  maxEntries: number;
  /** MANIFEST.MF, pom.properties, pom.xml: larger ones are not metadata but an attack. */
  maxMetadataBytes: number;
  /** Nested archives opened per outer file. */
  maxNestedArchives: number;
  /** Bytes of nested archives (inflated or stored) processed per outer file, in multiples of ctx.maxNestedArchiveBytes. */
  nestedBudgetFactor: number;
  /** Problems recorded per outer file; the rest are counted. */
  maxProblems: number;
}

export const defaultJavaArchiveLimits: JavaArchiveLimits = {
  maxDepth: 4,
  maxEntries: 500_000,
  maxMetadataBytes: 1 << 20,
  maxNestedArchives: 10_000,
  nestedBudgetFactor: 4,
  maxProblems: 50,
};

const ARCHIVE_EXTENSIONS: ReadonlySet<string> = new Set(["jar", "war", "ear", "par", "hpi", "jpi"]);

/** `x.jar`, `X.WAR`, ...: a few character tests, no allocation for the usual non-match. */
export function isJavaArchiveName(name: string): boolean {
  const n = name.length;
  if (n < 5 || name.charCodeAt(n - 4) !== 0x2e /* . */ || name.charCodeAt(n - 5) === 0x2f /* / */)
    return false;
  return ARCHIVE_EXTENSIONS.has(name.slice(n - 3).toLowerCase());
}

const MANIFEST = "META-INF/MANIFEST.MF";
const MAVEN_DIR = "META-INF/maven/";

function wanted(name: string): boolean {
  if (name.length === MANIFEST.length) return name.toUpperCase() === MANIFEST;
  if (name.startsWith(MAVEN_DIR)) return name.endsWith("/pom.properties") || name.endsWith("/pom.xml");
  return isJavaArchiveName(name);
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

interface Walk {
  path: string;
  ctx: CatalogContext;
  limits: JavaArchiveLimits;
  packages: Package[];
  problems: string[];
  droppedProblems: number;
  nestedOpened: number;
  budget: number;
}

function problem(w: Walk, chain: string[], reason: string): void {
  if (w.problems.length >= w.limits.maxProblems) w.droppedProblems++;
  else w.problems.push(chain.length ? `${chain.join("!")}: ${reason}` : reason);
}

function mavenPackage(
  w: Walk,
  chain: string[],
  c: PomProperties,
  licenses: string[],
  metadata: Record<string, string>,
): Package {
  const pkg: Package = {
    name: `${c.groupId}:${c.artifactId}`,
    version: c.version,
    ecosystem: "maven",
    purl: purl({ type: "maven", namespace: c.groupId, name: c.artifactId, version: c.version }),
    path: w.path,
    metadata: { groupId: c.groupId, artifactId: c.artifactId, ...metadata },
  };
  if (chain.length) pkg.archivePath = chain.join("!");
  if (licenses.length) pkg.licenses = licenses;
  return pkg;
}

function readText(w: Walk, chain: string[], buf: Buffer, e: ZipEntry): string | undefined {
  try {
    return readZipEntry(buf, e, w.limits.maxMetadataBytes).toString("utf8");
  } catch (err) {
    problem(w, chain, (err as Error).message);
    return undefined;
  }
}

function walk(w: Walk, buf: Buffer, fileName: string, chain: string[], depth: number): void {
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(buf, { maxEntries: w.limits.maxEntries, keep: wanted });
  } catch (err) {
    problem(
      w,
      chain,
      err instanceof ZipError ? err.message : `unreadable archive: ${(err as Error).message}`,
    );
    return;
  }

  let manifestEntry: ZipEntry | undefined;
  const pomProps: ZipEntry[] = [];
  const pomXml = new Map<string, ZipEntry>();
  const nested: ZipEntry[] = [];
  for (const e of entries) {
    if (e.name.endsWith("/")) continue;
    if (e.name.length === MANIFEST.length && e.name.toUpperCase() === MANIFEST) manifestEntry ??= e;
    else if (e.name.startsWith(MAVEN_DIR) && e.name.endsWith("/pom.properties")) pomProps.push(e);
    else if (e.name.startsWith(MAVEN_DIR) && e.name.endsWith("/pom.xml")) pomXml.set(e.name, e);
    else if (isJavaArchiveName(e.name)) nested.push(e);
  }

  let manifest: Manifest | undefined;
  if (manifestEntry) {
    const text = readText(w, chain, buf, manifestEntry);
    if (text !== undefined) manifest = parseManifest(text);
  }

  // pom.properties, deduplicated (some shading setups copy one twice), in name order.
  pomProps.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: { coords: PomProperties; entry: ZipEntry }[] = [];
  for (const e of pomProps) {
    const text = readText(w, chain, buf, e);
    const coords = text === undefined ? null : pomProperties(text);
    if (!coords) continue;
    const c = coords;
    if (
      found.some(
        (f) =>
          f.coords.groupId === c.groupId &&
          f.coords.artifactId === c.artifactId &&
          f.coords.version === c.version,
      )
    )
      continue;
    found.push({ coords, entry: e });
  }

  // The pom.properties describing the archive itself: the one named like the file, or the only one.
  const stem = splitArchiveFileName(fileName).name;
  const own = found.find((f) => f.coords.artifactId === stem) ?? (found.length === 1 ? found[0] : undefined);

  for (const f of found) {
    const xml = pomXml.get(f.entry.name.slice(0, -"pom.properties".length) + "pom.xml");
    let licenses: string[] = [];
    if (xml) {
      const text = readText(w, chain, buf, xml);
      if (text !== undefined) {
        try {
          licenses = pomLicenses(text);
        } catch (err) {
          problem(w, chain, `${xml.name}: ${(err as Error).message}`);
        }
      }
    }
    if (!licenses.length && f === own) licenses = manifestLicenses(manifest);
    w.packages.push(mavenPackage(w, chain, f.coords, licenses, { identity: "pom.properties" }));
  }

  if (!own) {
    const guess = guessIdentity(manifest, fileName);
    if (!guess) {
      if (!found.length)
        problem(
          w,
          chain,
          "no Maven identity found (no pom.properties; no version in MANIFEST.MF or the file name)",
        );
    } else if (
      !found.some((f) => f.coords.artifactId === guess.artifactId && f.coords.version === guess.version)
    ) {
      const { identity, groupIdFrom, ...coords } = guess;
      w.packages.push(mavenPackage(w, chain, coords, manifestLicenses(manifest), { identity, groupIdFrom }));
    }
  }

  if (!nested.length) return;
  if (depth >= w.limits.maxDepth) {
    problem(w, chain, `${nested.length} archive(s) nested deeper than ${w.limits.maxDepth} levels not read`);
    return;
  }
  nested.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Entries sharing their data are the overlapping-file zip bomb: inflate each place once.
  const seen = new Set<number>();
  for (const e of nested) {
    const inner = [...chain, e.name];
    if (seen.has(e.localOffset)) {
      problem(w, inner, "shares its data with another entry (overlapping entries: zip bomb?); not read");
      continue;
    }
    seen.add(e.localOffset);
    if (++w.nestedOpened > w.limits.maxNestedArchives) {
      problem(w, chain, `more than ${w.limits.maxNestedArchives} nested archives; the rest are not read`);
      return;
    }
    const limit = Math.min(w.ctx.maxNestedArchiveBytes, w.budget);
    const declared = e.method === 0 ? e.compressedSize : e.size;
    if (declared > limit) {
      problem(
        w,
        inner,
        limit < w.ctx.maxNestedArchiveBytes
          ? "not read: the nested-archive budget of this file is used up"
          : `not read: ${declared} bytes (limit ${limit})`,
      );
      continue;
    }
    let data: Buffer;
    try {
      data = readZipEntry(buf, e, limit);
    } catch (err) {
      problem(w, inner, (err as Error).message.replace(`${e.name}: `, ""));
      continue;
    }
    w.budget -= data.length;
    walk(w, data, baseName(e.name), inner, depth + 1);
  }
}

/** All packages of one Java archive file and of the archives nested in it. */
export function catalogJavaArchive(
  content: Buffer,
  path: string,
  ctx: CatalogContext,
  limits: JavaArchiveLimits = defaultJavaArchiveLimits,
): CatalogResult {
  const w: Walk = {
    path,
    ctx,
    limits,
    packages: [],
    problems: [],
    droppedProblems: 0,
    nestedOpened: 0,
    budget: ctx.maxNestedArchiveBytes * limits.nestedBudgetFactor,
  };
  walk(w, content, baseName(path), [], 0);
  if (w.droppedProblems) w.problems.push(`... and ${w.droppedProblems} more problems`);
  return w.problems.length ? { packages: w.packages, problems: w.problems } : { packages: w.packages };
}
