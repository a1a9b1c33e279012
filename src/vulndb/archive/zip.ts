import {
  readZipDirectory,
  readZipEntry,
  scanLocalHeaders,
  ZipError,
  ZipFile,
  type ZipEntry,
  type ZipSource,
} from "../../catalog/lang/java/zip.js";

/**
 * The members of a feed zip (osv.dev's `<ecosystem>/all.zip`) as feed documents, read with the
 * one zip reader (src/catalog/lang/java/zip.ts): from the file by position, one member inflated
 * at a time, each checked against its declared size and CRC-32.
 *
 * A damaged archive is not all-or-nothing: a member that cannot be read is a problem and the
 * others are still returned; when the central directory is missing (a truncated download) the
 * local headers are walked from the start, every complete member is still returned and the
 * damage is reported as a problem at the point it starts.
 */

export type ZipItem =
  { kind: "member"; name: string; content: Buffer } | { kind: "problem"; document: string; reason: string };

/** A single feed document larger than this is refused (a zip bomb costs a problem, not the process). */
export const MAX_MEMBER_BYTES = 1024 ** 3;
/** More members than any feed has (osv.dev's largest archive has a few hundred thousand). */
const MAX_MEMBERS = 10_000_000;

/**
 * Every file member of a zip (a file path, or the bytes of a zip nested in another archive), in
 * archive order, with problems in between.
 */
export function* readZip(source: string | Buffer, label: string): Generator<ZipItem> {
  if (Buffer.isBuffer(source)) {
    yield* members(source, label);
    return;
  }
  const file = ZipFile.open(source);
  try {
    yield* members(file, label);
  } finally {
    file.close();
  }
}

/** The reader's message without the entry name it starts with (the document names the entry). */
function reasonOf(err: ZipError): string {
  return err.entry !== undefined && err.message.startsWith(`${err.entry}: `)
    ? err.message.slice(err.entry.length + 2)
    : err.message;
}

function* member(src: Buffer | ZipSource, label: string, e: ZipEntry): Generator<ZipItem> {
  let content: Buffer;
  try {
    content = readZipEntry(src, e, MAX_MEMBER_BYTES, { verify: true });
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    yield {
      kind: "problem",
      document: `${label}!${e.name}`,
      reason: `unreadable zip member: ${reasonOf(err)}`,
    };
    return;
  }
  yield { kind: "member", name: e.name, content };
}

function* members(src: Buffer | ZipSource, label: string): Generator<ZipItem> {
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(src, { maxEntries: MAX_MEMBERS });
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    const why =
      err.code === "no-end-record"
        ? "no end of central directory record (truncated or not a zip)"
        : err.message;
    yield* salvage(src, label, why);
    return;
  }
  for (const e of entries) if (!e.name.endsWith("/")) yield* member(src, label, e);
}

/** Walks local headers when the central directory is unusable; reports where the damage starts. */
function* salvage(src: Buffer | ZipSource, label: string, why: string): Generator<ZipItem> {
  let found = 0;
  const walk = scanLocalHeaders(src, { maxEntries: MAX_MEMBERS });
  for (;;) {
    let next: IteratorResult<ZipEntry>;
    try {
      next = walk.next();
    } catch (err) {
      if (!(err instanceof ZipError)) throw err;
      const document = err.entry === undefined ? label : `${label}!${err.entry}`;
      yield { kind: "problem", document, reason: `${why}; ${reasonOf(err)}` };
      return;
    }
    if (next.done) break;
    found++;
    if (!next.value.name.endsWith("/")) yield* member(src, label, next.value);
  }
  yield {
    kind: "problem",
    document: label,
    reason: found ? `${why}; ${found} members recovered from local headers` : why,
  };
}
