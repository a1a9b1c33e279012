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

/** The entry type of a typeflag byte. */
function entryType(typeflag: number): TarEntryType {
  switch (typeflag) {
    case 0x30: // "0"
    case 0: // "\0" (pre-POSIX)
    case 0x37: // "7" (contiguous file)
      return "file";
    case 0x31: // "1"
      return "link";
    case 0x32: // "2"
      return "symlink";
    case 0x35: // "5"
      return "directory";
    default:
      return "other";
  }
}

/** The magic field reads "ustar\0" (POSIX), not old GNU's "ustar  ". */
function isPosixUstar(h: Buffer, at: number): boolean {
  const m = at + 257;
  return (
    h[m] === 0x75 &&
    h[m + 1] === 0x73 &&
    h[m + 2] === 0x74 &&
    h[m + 3] === 0x61 &&
    h[m + 4] === 0x72 &&
    h[m + 5] === 0
  );
}

/**
 * Reads a tar stream to its end, calling the visitor per entry. Rejects with TarError on a
 * malformed or truncated archive, or when a limit is exceeded. A stream that ends cleanly at a
 * header boundary without the end-of-archive blocks is accepted, as GNU tar and Go's
 * archive/tar do (callers that know the diffID verify the bytes anyway).
 */
export function readTar(
  source: AsyncIterable<Buffer>,
  visitor: TarVisitor,
  limits: TarLimits,
): Promise<void> {
  return new TarReader(visitor, limits).read(source);
}

type BodyKind = "entry" | "pax" | "gpax" | "gnu-name" | "gnu-link";

/**
 * The state of one archive being read. A class rather than closures inside readTar: V8 keeps
 * the optimized code of methods from one archive to the next, where closures created per call
 * were compiled again for every layer (tens of milliseconds of compiler time each).
 */
class TarReader {
  private total = 0;
  private entries = 0;
  /** Bytes of a header split across chunks. */
  private readonly carry = Buffer.alloc(BLOCK);
  private carryLen = 0;
  /** The body being read (or skipped), then its padding. */
  private bodyLeft = 0;
  private padLeft = 0;
  private body: Buffer | null = null;
  private bodyPos = 0;
  private bodyFor: BodyKind | null = null;
  private header: TarHeader | null = null;
  /** Extended header state for the next entry. */
  private paxNext: Record<string, string> | null = null;
  private paxGlobal: Record<string, string> = {};
  private gnuName: string | null = null;
  private gnuLink: string | null = null;
  private ended = false;
  private reused: Buffer | null = null;
  /**
   * A transient body is placed when its first bytes arrive: a view of the chunk when the chunk
   * holds all of it (no copy: the chunk stays valid while onBody runs), else the reused buffer.
   */
  private placeLater = false;
  private readonly transient: boolean;

  constructor(
    private readonly visitor: TarVisitor,
    private readonly limits: TarLimits,
  ) {
    this.transient = visitor.transientBodies === true;
  }

  async read(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of source) {
      const base = this.total; // archive offset of chunk[0]
      this.total += chunk.length;
      if (this.total > this.limits.maxBytes)
        throw new TarError(`layer decompresses to more than ${this.limits.maxBytes} bytes`);
      let off = 0;
      const len = chunk.length;
      while (off < len) {
        if (this.bodyLeft > 0) {
          const n = Math.min(this.bodyLeft, len - off);
          if (!this.placeLater || !this.place(chunk, off, n)) {
            const b = this.body;
            if (b) chunk.copy(b, this.bodyPos, off, off + n);
          }
          this.bodyPos += n;
          this.bodyLeft -= n;
          off += n;
          if (this.bodyLeft === 0) await this.finishBody();
          continue;
        }
        if (this.padLeft > 0) {
          const n = Math.min(this.padLeft, len - off);
          this.padLeft -= n;
          off += n;
          continue;
        }
        if (this.ended) break; // trailing zeros (docker pads) or garbage after the archive: consumed, ignored
        if (this.carryLen > 0 || len - off < BLOCK) {
          const n = Math.min(BLOCK - this.carryLen, len - off);
          chunk.copy(this.carry, this.carryLen, off, off + n);
          this.carryLen += n;
          off += n;
          if (this.carryLen < BLOCK) break;
          this.carryLen = 0;
          if (isZeroBlock(this.carry, 0)) this.ended = true;
          else this.onHeader(this.carry, 0, base + off - BLOCK);
        } else {
          const at = off;
          off += BLOCK;
          if (isZeroBlock(chunk, at)) this.ended = true;
          else this.onHeader(chunk, at, base + at);
        }
        // An entry without body (size 0) is complete as soon as its header is read.
        if (this.bodyLeft === 0 && this.bodyFor) await this.finishBody();
      }
    }
    if (this.ended) return;
    if (this.bodyLeft > 0 || this.padLeft > 0 || this.carryLen > 0)
      throw new TarError("truncated tar archive");
    if (this.bodyFor || this.paxNext || this.gnuName !== null || this.gnuLink !== null)
      throw new TarError("truncated tar archive (extended header without its entry)");
  }

  /** True when the body is a view of the chunk (nothing to copy). */
  private place(chunk: Buffer, off: number, n: number): boolean {
    this.placeLater = false;
    const size = this.bodyLeft;
    if (n === size) {
      this.body = chunk.subarray(off, off + n);
      return true;
    }
    if (size > REUSED_BODY_BYTES) this.body = Buffer.allocUnsafe(size);
    else {
      const r = this.reused;
      if (!r || r.length < size)
        this.reused = Buffer.allocUnsafe(
          Math.min(REUSED_BODY_BYTES, Math.max(size, 2 * (r?.length ?? 32 * 1024))),
        );
      this.body = this.reused!.subarray(0, size);
    }
    return false;
  }

  private startBody(size: number, kind: BodyKind | null): void {
    this.bodyLeft = size;
    this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    this.bodyFor = kind;
    this.placeLater = kind === "entry" && this.transient && size > 0;
    this.body = kind && !this.placeLater ? Buffer.allocUnsafe(size) : null;
    this.bodyPos = 0;
  }

  private async finishBody(): Promise<void> {
    const b = this.body;
    const kind = this.bodyFor;
    this.body = null;
    this.bodyFor = null;
    if (!b || !kind) return;
    if (kind === "pax") this.paxNext = parsePax(b);
    else if (kind === "gpax") this.paxGlobal = { ...this.paxGlobal, ...parsePax(b) };
    else if (kind === "gnu-name") this.gnuName = readString(b, 0, b.length);
    else if (kind === "gnu-link") this.gnuLink = readString(b, 0, b.length);
    else if (this.header) await this.visitor.onBody(this.header, b);
  }

  /** Handles one header block at h[at..at+512], found at `offset` in the archive. */
  private onHeader(h: Buffer, at: number, offset: number): void {
    if (!checksumOk(h, at)) throw new TarError(`corrupt tar header (bad checksum) at byte ${offset}`);
    const typeflag = h[at + 156]!;
    const size = readNumber(h, at + 124, 12, "size");

    if (typeflag === 0x78 /* x */ || typeflag === 0x67 /* g */) {
      if (size > MAX_PAX_BYTES) throw new TarError(`pax header of ${size} bytes is too large`);
      this.startBody(size, typeflag === 0x67 ? "gpax" : "pax");
      return;
    }
    if (typeflag === 0x4c /* L */ || typeflag === 0x4b /* K */) {
      if (size > MAX_LONGNAME_BYTES) throw new TarError(`GNU long name of ${size} bytes is too large`);
      this.startBody(size, typeflag === 0x4c ? "gnu-name" : "gnu-link");
      return;
    }

    this.entries++;
    if (this.entries > this.limits.maxEntries)
      throw new TarError(`more than ${this.limits.maxEntries} entries in one layer`);
    let name = readString(h, at, 100);
    // POSIX ustar ("ustar\0") has a prefix field; old GNU ("ustar  ") keeps atime there instead.
    if (isPosixUstar(h, at)) {
      const prefix = readString(h, at + 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    let linkname = readString(h, at + 157, 100);
    const mode = readNumber(h, at + 100, 8, "mode");
    const paxNext = this.paxNext;
    const pax = paxNext ? { ...this.paxGlobal, ...paxNext } : this.paxGlobal;
    if (this.gnuName !== null) name = this.gnuName;
    if (this.gnuLink !== null) linkname = this.gnuLink;
    if (pax.path !== undefined) name = pax.path;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    let realSize = size;
    if (pax.size !== undefined) {
      realSize = /^\d+$/.test(pax.size) ? Number(pax.size) : NaN;
      if (!Number.isSafeInteger(realSize)) throw new TarError(`invalid pax size ${JSON.stringify(pax.size)}`);
    }
    this.paxNext = null;
    this.gnuName = null;
    this.gnuLink = null;
    let type = entryType(typeflag);
    // Pre-POSIX archives mark directories with a trailing slash on a regular-file entry.
    if (type === "file" && typeflag !== 0x37 /* 7 */ && name.endsWith("/")) type = "directory";
    const header: TarHeader = { name, type, mode, size: type === "file" ? realSize : 0, linkname };
    this.header = header;
    const want = this.visitor.onEntry(header) && type === "file";
    if (want && realSize > this.limits.maxFileBytes) {
      this.visitor.onTooLarge?.(header);
      this.startBody(realSize, null);
    } else this.startBody(realSize, want ? "entry" : null);
  }
}
