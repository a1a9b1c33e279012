/**
 * A streaming tar reader (POSIX ustar, pax extended headers, GNU long names, GNU base-256
 * numbers). Written for the layer scan hot path: it walks the decompressed chunks with a cursor,
 * never creates a stream per entry, skips unwanted bodies without copying a byte, and copies a
 * wanted body once into a buffer of its exact size. It enforces limits on entries, total bytes
 * and buffered bodies, so a hostile layer costs bounded memory and time.
 *
 * It consumes its source to the very end, even past the end-of-archive blocks, so that a caller
 * hashing the stream (diffID verification) sees every byte.
 */

export type TarEntryType = "file" | "link" | "symlink" | "directory" | "other";

export interface TarHeader {
  /** Path as written in the archive (pax `path`, GNU long name or ustar prefix/name); not normalized. */
  name: string;
  type: TarEntryType;
  mode: number;
  /** Body size of a regular file; 0 for every other type. */
  size: number;
  /** Target of a hard link or symlink (pax `linkpath` or GNU long link name). */
  linkname: string;
}

export interface TarLimits {
  /** Maximum number of entries in one archive (pax and GNU long-name headers not counted). */
  maxEntries: number;
  /** Maximum total bytes of the (decompressed) archive. */
  maxBytes: number;
  /** Maximum size of one buffered entry body. */
  maxFileBytes: number;
}

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarError";
  }
}

/**
 * What to do with an entry's body: skip it (`onEntry` returns false), or buffer it and receive it
 * in `onBody` (awaited before reading on). Bodies over `maxFileBytes` are skipped and reported
 * through `onTooLarge`.
 */
export interface TarVisitor {
  onEntry(header: TarHeader): boolean;
  onBody(header: TarHeader, body: Buffer): void | Promise<void>;
  onTooLarge?(header: TarHeader): void;
  /**
   * The visitor keeps no reference to a body once `onBody` has settled: a body is then a view
   * of the source chunk when one chunk holds it, else read into one reused buffer (up to
   * REUSED_BODY_BYTES), which spares copying, allocating and collecting every executable and
   * database of a layer. (The source must keep a chunk's memory valid until the next is asked for.)
   */
  transientBodies?: boolean;
}

/** Bodies up to this size share the reused buffer of a `transientBodies` visitor. */
export const REUSED_BODY_BYTES = 16 * 1024 * 1024;

const BLOCK = 512;
/** Extended headers are metadata: anything larger is hostile, not a real path. */
const MAX_PAX_BYTES = 1024 * 1024;
const MAX_LONGNAME_BYTES = 64 * 1024;

function readString(buf: Buffer, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString("utf8", start, end);
}

/** A numeric header field: octal text (NUL or space terminated), or GNU base-256 binary. */
export function readNumber(buf: Buffer, start: number, len: number, what: string): number {
  const first = buf[start]!;
  if (first & 0x80) {
    // Base-256: big-endian two's complement in the remaining bits. Negative values (0xff...)
    // are meaningless for sizes and modes.
    if (first === 0xff) throw new TarError(`negative ${what} in tar header`);
    let v = first & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + buf[i]!;
    if (!Number.isSafeInteger(v)) throw new TarError(`${what} too large in tar header`);
    return v;
  }
  let v = 0;
  let i = start;
  const end = start + len;
  while (i < end && buf[i] === 0x20) i++; // leading spaces
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else if (c === 0 || c === 0x20) break;
    else
      throw new TarError(
        `invalid ${what} ${JSON.stringify(buf.toString("latin1", start, end))} in tar header`,
      );
  }
  // Only terminators may follow the digits.
  for (; i < end; i++) {
    if (buf[i] !== 0 && buf[i] !== 0x20) throw new TarError(`invalid ${what} in tar header`);
  }
  return digits ? v : 0;
}

/** Unsigned (POSIX) or signed (some historic tars) header checksum; the signed sum only on a mismatch. */
function checksumOk(h: Buffer, at: number): boolean {
  const stored = readNumber(h, at + 148, 8, "checksum");
  let unsigned = 8 * 32; // the checksum field counts as spaces
  let high = 0; // bytes over 127, for the signed variant
  for (let i = at; i < at + 148; i++) unsigned += h[i]!;
  for (let i = at + 156; i < at + BLOCK; i++) unsigned += h[i]!;
  if (stored === unsigned) return true;
  for (let i = at; i < at + BLOCK; i++) if ((i < at + 148 || i >= at + 156) && h[i]! > 127) high++;
  return stored === unsigned - 256 * high;
}

function isZeroBlock(h: Buffer, at: number): boolean {
  for (let i = at; i < at + BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** Parses pax records: "%d %s=%s\n" (the length counts the whole record). */
export function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break; // NUL padding after the last record
    const sp = body.indexOf(0x20, i);
    if (sp < 0 || sp - i > 20) throw new TarError("malformed pax header");
    const lenText = body.toString("ascii", i, sp);
    const len = /^\d+$/.test(lenText) ? Number(lenText) : NaN;
    if (
      !Number.isSafeInteger(len) ||
      len <= sp - i + 1 ||
      i + len > body.length ||
      body[i + len - 1] !== 0x0a
    )
      throw new TarError("malformed pax header");
    const rec = body.toString("utf8", sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq <= 0) throw new TarError("malformed pax header record");
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "link",
  "2": "symlink",
  "5": "directory",
};

/**
 * Reads a tar stream to its end, calling the visitor per entry. Rejects with TarError on a
 * malformed or truncated archive, or when a limit is exceeded. A stream that ends cleanly at a
 * header boundary without the end-of-archive blocks is accepted, as GNU tar and Go's
 * archive/tar do (callers that know the diffID verify the bytes anyway).
 */
export async function readTar(
  source: AsyncIterable<Buffer>,
  visitor: TarVisitor,
  limits: TarLimits,
): Promise<void> {
  let total = 0;
  let entries = 0;
  // Bytes of a header split across chunks.
  const carry = Buffer.alloc(BLOCK);
  let carryLen = 0;
  // The body being read (or skipped), then its padding.
  let bodyLeft = 0;
  let padLeft = 0;
  let body: Buffer | null = null;
  let bodyPos = 0;
  let bodyFor: "entry" | "pax" | "gpax" | "gnu-name" | "gnu-link" | null = null;
  let header: TarHeader | null = null;
  // Extended header state for the next entry.
  let paxNext: Record<string, string> | null = null;
  let paxGlobal: Record<string, string> = {};
  let gnuName: string | null = null;
  let gnuLink: string | null = null;
  let ended = false;
  let reused: Buffer | null = null;

  // A transient body is placed when its first bytes arrive: a view of the chunk when the chunk
  // holds all of it (no copy: the chunk stays valid while onBody runs), else the reused buffer.
  let placeLater = false;
  /** True when the body is a view of the chunk (nothing to copy). */
  const place = (chunk: Buffer, off: number, n: number): boolean => {
    placeLater = false;
    if (n === bodyLeft) {
      body = chunk.subarray(off, off + n);
      return true;
    }
    if (bodyLeft > REUSED_BODY_BYTES) body = Buffer.allocUnsafe(bodyLeft);
    else {
      if (!reused || reused.length < bodyLeft)
        reused = Buffer.allocUnsafe(
          Math.min(REUSED_BODY_BYTES, Math.max(bodyLeft, 2 * (reused?.length ?? 32 * 1024))),
        );
      body = reused.subarray(0, bodyLeft);
    }
    return false;
  };

  const startBody = (size: number, kind: typeof bodyFor) => {
    bodyLeft = size;
    padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    bodyFor = kind;
    placeLater = kind === "entry" && visitor.transientBodies === true && size > 0;
    body = kind && !placeLater ? Buffer.allocUnsafe(size) : null;
    bodyPos = 0;
  };

  const finishBody = async () => {
    const b = body;
    const kind = bodyFor;
    body = null;
    bodyFor = null;
    if (!b || !kind) return;
    if (kind === "pax") paxNext = parsePax(b);
    else if (kind === "gpax") paxGlobal = { ...paxGlobal, ...parsePax(b) };
    else if (kind === "gnu-name") gnuName = readString(b, 0, b.length);
    else if (kind === "gnu-link") gnuLink = readString(b, 0, b.length);
    else if (header) await visitor.onBody(header, b);
  };

  /** Handles one header block at h[at..at+512], found at `offset` in the archive. */
  const onHeader = (h: Buffer, at: number, offset: number) => {
    if (!checksumOk(h, at)) throw new TarError(`corrupt tar header (bad checksum) at byte ${offset}`);
    const typeflag = String.fromCharCode(h[at + 156]!);
    const size = readNumber(h, at + 124, 12, "size");

    if (typeflag === "x" || typeflag === "g") {
      if (size > MAX_PAX_BYTES) throw new TarError(`pax header of ${size} bytes is too large`);
      startBody(size, typeflag === "g" ? "gpax" : "pax");
      return;
    }
    if (typeflag === "L" || typeflag === "K") {
      if (size > MAX_LONGNAME_BYTES) throw new TarError(`GNU long name of ${size} bytes is too large`);
      startBody(size, typeflag === "L" ? "gnu-name" : "gnu-link");
      return;
    }

    entries++;
    if (entries > limits.maxEntries)
      throw new TarError(`more than ${limits.maxEntries} entries in one layer`);
    let name = readString(h, at, 100);
    // POSIX ustar ("ustar\0") has a prefix field; old GNU ("ustar  ") keeps atime there instead.
    if (h.toString("latin1", at + 257, at + 263) === "ustar\0") {
      const prefix = readString(h, at + 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    let linkname = readString(h, at + 157, 100);
    const mode = readNumber(h, at + 100, 8, "mode");
    const pax = paxNext ? { ...paxGlobal, ...paxNext } : paxGlobal;
    if (gnuName !== null) name = gnuName;
    if (gnuLink !== null) linkname = gnuLink;
    if (pax.path !== undefined) name = pax.path;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    let realSize = size;
    if (pax.size !== undefined) {
      realSize = /^\d+$/.test(pax.size) ? Number(pax.size) : NaN;
      if (!Number.isSafeInteger(realSize)) throw new TarError(`invalid pax size ${JSON.stringify(pax.size)}`);
    }
    paxNext = null;
    gnuName = null;
    gnuLink = null;
    let type = TYPES[typeflag] ?? "other";
    // Pre-POSIX archives mark directories with a trailing slash on a regular-file entry.
    if (type === "file" && typeflag !== "7" && name.endsWith("/")) type = "directory";
    header = { name, type, mode, size: type === "file" ? realSize : 0, linkname };
    const want = visitor.onEntry(header) && type === "file";
    if (want && realSize > limits.maxFileBytes) {
      visitor.onTooLarge?.(header);
      startBody(realSize, null);
    } else startBody(realSize, want ? "entry" : null);
  };

  for await (const chunk of source) {
    const base = total; // archive offset of chunk[0]
    total += chunk.length;
    if (total > limits.maxBytes)
      throw new TarError(`layer decompresses to more than ${limits.maxBytes} bytes`);
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, len - off);
        if (!placeLater || !place(chunk, off, n)) {
          const b = body as Buffer | null;
          if (b) chunk.copy(b, bodyPos, off, off + n);
        }
        bodyPos += n;
        bodyLeft -= n;
        off += n;
        if (bodyLeft === 0) await finishBody();
        continue;
      }
      if (padLeft > 0) {
        const n = Math.min(padLeft, len - off);
        padLeft -= n;
        off += n;
        continue;
      }
      if (ended) break; // trailing zeros (docker pads) or garbage after the archive: consumed, ignored
      if (carryLen > 0 || len - off < BLOCK) {
        const n = Math.min(BLOCK - carryLen, len - off);
        chunk.copy(carry, carryLen, off, off + n);
        carryLen += n;
        off += n;
        if (carryLen < BLOCK) break;
        carryLen = 0;
        if (isZeroBlock(carry, 0)) ended = true;
        else onHeader(carry, 0, base + off - BLOCK);
      } else {
        const at = off;
        off += BLOCK;
        if (isZeroBlock(chunk, at)) ended = true;
        else onHeader(chunk, at, base + at);
      }
      // An entry without body (size 0) is complete as soon as its header is read.
      if (bodyLeft === 0 && bodyFor) await finishBody();
    }
  }
  if (ended) return;
  if (bodyLeft > 0 || padLeft > 0 || carryLen > 0) throw new TarError("truncated tar archive");
  if (bodyFor || paxNext || gnuName !== null || gnuLink !== null)
    throw new TarError("truncated tar archive (extended header without its entry)");
}
