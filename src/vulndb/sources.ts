import { closeSync, createReadStream, fstatSync, openSync, readSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { createGunzip } from "node:zlib";
import { readTar } from "./archive/tar.js";
import { readZip } from "./archive/zip.js";
import type { FeedDocument } from "./importers/types.js";

/**
 * Where feed documents come from: files and directories named on the command line (or
 * downloaded by `db update`), expanded into documents. Archives (.zip, .tar, .tar.gz, .tgz,
 * .gz) are opened and their members are the documents, nested archives included; a directory is
 * walked in name order so imports are reproducible.
 */

export interface SourceFile {
  /** Path on disk. */
  path: string;
  /** The feed name the file's documents belong to (see feedName). */
  feedName: string;
}

export type SourceItem =
  { kind: "document"; doc: FeedDocument } | { kind: "problem"; document: string; reason: string };

/** Largest gzip-compressed single document decompressed into memory. */
export const MAX_GZ_DOCUMENT_BYTES = 2 * 1024 ** 3;
/** Archives inside archives are opened this deep; deeper ones are handed over as documents. */
const MAX_NESTING = 3;

const ARCHIVE_RE = /\.(zip|tar|tar\.gz|tgz|gz)$/i;

export function isArchiveName(name: string): boolean {
  return ARCHIVE_RE.test(name);
}

/**
 * The feed a file's documents belong to. A feed is the unit an import replaces, so it must
 * name the same upstream data whatever path it is imported from:
 * - a file at a known mirror path (`osv/Go/all.zip`, the importers' `upstream` lists) is named
 *   by that path, wherever the mirror lives;
 * - a file named on the command line is named by its file name;
 * - in a walked directory an archive is named by its path relative to the directory, and loose
 *   documents (one JSON per record) by their directory, so a directory of 4,000 records is one
 *   feed, not 4,000.
 */
export function feedName(path: string, root: string | undefined, mirrorPaths: readonly string[]): string {
  const norm = resolve(path).split(sep).join("/");
  for (const mp of mirrorPaths) if (norm === mp || norm.endsWith(`/${mp}`)) return mp;
  if (root === undefined) return basename(path);
  const rel = relative(root, path).split(sep).join("/");
  if (isArchiveName(path)) return rel;
  const dir = dirname(rel);
  return dir === "." ? basename(resolve(root)) : dir;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith(".")) continue; // .git, editor droppings
    const p = join(dir, e.name);
    const s = await stat(p).catch(() => undefined);
    if (!s) continue;
    if (s.isDirectory()) await walk(p, out);
    else if (s.isFile()) out.push(p);
  }
}

/** The files named by `inputs` (files or directories), each with its feed name. */
export async function listSources(
  inputs: readonly string[],
  mirrorPaths: readonly string[],
): Promise<SourceFile[]> {
  // Longest mirror paths first so `a/b/c.zip` wins over `b/c.zip`.
  const mps = [...mirrorPaths].sort((a, b) => b.length - a.length);
  const out: SourceFile[] = [];
  for (const input of inputs) {
    const s = await stat(input);
    if (s.isDirectory()) {
      const files: string[] = [];
      await walk(input, files);
      for (const f of files) out.push({ path: f, feedName: feedName(f, input, mps) });
    } else {
      out.push({ path: input, feedName: feedName(input, undefined, mps) });
    }
  }
  return out;
}

/**
 * Reads a decompressed stream into one buffer. `expected` (gzip's ISIZE trailer) lets the
 * buffer be allocated once and filled as chunks arrive, instead of holding every chunk and
 * then their concatenation: an 84 MB NVD extract then costs 84 MB, not 168.
 */
async function collect(stream: AsyncIterable<Buffer>, max: number, expected = 0): Promise<Buffer> {
  let out = Buffer.allocUnsafe(Math.min(expected, max));
  let n = 0;
  for await (const c of stream) {
    if (n + c.length > max) throw new Error(`decompresses to more than ${max} bytes`);
    if (n + c.length > out.length) {
      // ISIZE is the size mod 2^32 of the last member only: grow when it was wrong.
      const bigger = Buffer.allocUnsafe(Math.min(max, Math.max(2 * out.length, n + c.length, 64 * 1024)));
      out.copy(bigger, 0, 0, n);
      out = bigger;
    }
    c.copy(out, n);
    n += c.length;
  }
  return out.subarray(0, n);
}

/**
 * The uncompressed size a gzip file declares in its last four bytes (0 when unknown), never
 * more than deflate's maximum ratio (1032:1) allows: a lying trailer costs no huge allocation.
 */
function gzipSizeHint(src: string | Buffer): number {
  try {
    if (Buffer.isBuffer(src))
      return src.length >= 18 ? Math.min(src.readUInt32LE(src.length - 4), src.length * 1032) : 0;
    const fd = openSync(src, "r");
    try {
      const size = fstatSync(fd).size;
      if (size < 18) return 0;
      const b = Buffer.alloc(4);
      readSync(fd, b, 0, 4, size - 4);
      return Math.min(b.readUInt32LE(0), size * 1032);
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}

function streamOf(src: string | Buffer): Readable {
  return typeof src === "string"
    ? createReadStream(src, { highWaterMark: 1024 * 1024 })
    : Readable.from([src]);
}

/**
 * The documents of one file (or of an archive member's bytes), archives expanded. Damage is
 * yielded as problems and never thrown: whatever could be read is still returned.
 */
export async function* documentsOf(
  src: string | Buffer,
  label: string,
  depth = 0,
): AsyncGenerator<SourceItem> {
  const name = label.slice(label.lastIndexOf("!") + 1);
  const lower = name.toLowerCase();
  const archive = depth < MAX_NESTING && isArchiveName(lower);
  try {
    if (archive && lower.endsWith(".zip")) {
      for (const m of readZip(src, label)) {
        if (m.kind === "problem") yield m;
        else yield* documentsOf(m.content, `${label}!${m.name}`, depth + 1);
      }
      return;
    }
    if (archive && (lower.endsWith(".tar.gz") || lower.endsWith(".tgz") || lower.endsWith(".tar"))) {
      const raw = streamOf(src);
      const gz = lower.endsWith(".tar") ? raw : raw.pipe(createGunzip());
      raw.on("error", (e) => gz.destroy(e));
      for await (const m of readTar(gz, label)) {
        if (m.kind === "problem") yield m;
        else yield* documentsOf(m.content, `${label}!${m.name}`, depth + 1);
      }
      return;
    }
    if (archive && lower.endsWith(".gz")) {
      const raw = streamOf(src);
      const gz = raw.pipe(createGunzip());
      raw.on("error", (e) => gz.destroy(e));
      const inner = basename(name.slice(0, -3));
      const data = await collect(gz, MAX_GZ_DOCUMENT_BYTES, gzipSizeHint(src));
      yield* documentsOf(data, `${label}!${inner}`, depth + 1);
      return;
    }
    const content = typeof src === "string" ? await readFile(src) : src;
    yield { kind: "document", doc: { name: label, content } };
  } catch (e) {
    yield { kind: "problem", document: label, reason: `cannot read: ${(e as Error).message}` };
  }
}
