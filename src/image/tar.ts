/**
 * A streaming tar reader (POSIX ustar, pax extended headers, GNU long names). Written for
 * the layer scan hot path: it never creates a stream per entry, skips unwanted bodies without
 * copying, and enforces limits on entries and bytes, so a hostile layer costs bounded memory.
 */

export type TarEntryType = "file" | "link" | "symlink" | "directory" | "other";

export interface TarHeader {
  /** Path as written in the archive (not normalized). */
  name: string;
  type: TarEntryType;
  mode: number;
  size: number;
  /** Target of a hard link or symlink. */
  linkname: string;
}

export interface TarLimits {
  /** Maximum number of entries in one archive. */
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
 * What to do with an entry's body: skip it, or buffer it and receive it in `onBody`.
 * Bodies over `maxFileBytes` are skipped and reported through `onTooLarge`.
 */
export interface TarVisitor {
  onEntry(header: TarHeader): boolean;
  onBody(header: TarHeader, body: Buffer): void | Promise<void>;
  onTooLarge?(header: TarHeader): void;
}

const BLOCK = 512;

function readString(buf: Buffer, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString("utf8", start, end);
}

function readOctal(buf: Buffer, start: number, len: number): number {
  // GNU base-256 encoding for large values: high bit of the first byte set.
  if (buf[start]! & 0x80) {
    let v = buf[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + buf[i]!;
    return v;
  }
  const s = readString(buf, start, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`invalid number ${JSON.stringify(s)} in tar header`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = readOctal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === stored;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** Parses pax records: "%d %s=%s\n". */
function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(body.toString("ascii", i, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || i + len > body.length)
      throw new TarError("malformed pax header");
    const rec = body.toString("utf8", sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
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
 * malformed or truncated archive, or when a limit is exceeded.
 */
export async function readTar(
  source: AsyncIterable<Buffer>,
  visitor: TarVisitor,
  limits: TarLimits,
): Promise<void> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let total = 0;
  let entries = 0;

  // State: reading a header, or a body (buffered or skipped) followed by padding.
  let header = null as TarHeader | null;
  let bodyLeft = 0;
  let padLeft = 0;
  let collect = null as Buffer[] | null;
  let collectFor = null as "entry" | "pax" | "gnu-name" | "gnu-link" | null;
  let paxNext: Record<string, string> = {};
  let paxGlobal: Record<string, string> = {};
  let gnuName: string | null = null;
  let gnuLink: string | null = null;
  let ended = false;

  const take = (n: number): Buffer => {
    // Precondition: pendingLen >= n.
    if (pending[0]!.length >= n) {
      const first = pending[0]!;
      const out = first.subarray(0, n);
      if (first.length === n) pending.shift();
      else pending[0] = first.subarray(n);
      pendingLen -= n;
      return out;
    }
    const all = Buffer.concat(pending, pendingLen);
    const out = all.subarray(0, n);
    pending = n < all.length ? [all.subarray(n)] : [];
    pendingLen -= n;
    return out;
  };

  const finishBody = async () => {
    const body = collect ? Buffer.concat(collect) : null;
    const kind = collectFor;
    collect = null;
    collectFor = null;
    if (!body || !header) return;
    if (kind === "pax") {
      const rec = parsePax(body);
      if (header.name === "__global__") paxGlobal = { ...paxGlobal, ...rec };
      else paxNext = rec;
    } else if (kind === "gnu-name") gnuName = readString(body, 0, body.length);
    else if (kind === "gnu-link") gnuLink = readString(body, 0, body.length);
    else if (kind === "entry") await visitor.onBody(header, body);
  };

  const onHeader = (h: Buffer) => {
    if (!checksumOk(h))
      throw new TarError(`corrupt tar header (bad checksum) at byte ${total - pendingLen - BLOCK}`);
    const typeflag = String.fromCharCode(h[156]!);
    let name = readString(h, 0, 100);
    const magic = h.toString("ascii", 257, 262);
    if (magic === "ustar") {
      const prefix = readString(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const size = readOctal(h, 124, 12);
    const mode = readOctal(h, 100, 8);
    let linkname = readString(h, 157, 100);
    bodyLeft = size;
    padLeft = (BLOCK - (size % BLOCK)) % BLOCK;

    if (typeflag === "x" || typeflag === "g") {
      if (size > 1024 * 1024) throw new TarError("pax header too large");
      header = { name: typeflag === "g" ? "__global__" : "__pax__", type: "other", mode, size, linkname: "" };
      collect = [];
      collectFor = "pax";
      return;
    }
    if (typeflag === "L" || typeflag === "K") {
      if (size > 64 * 1024) throw new TarError("GNU long name too large");
      header = { name: "__gnu__", type: "other", mode, size, linkname: "" };
      collect = [];
      collectFor = typeflag === "L" ? "gnu-name" : "gnu-link";
      return;
    }
    entries++;
    if (entries > limits.maxEntries)
      throw new TarError(`more than ${limits.maxEntries} entries in one layer`);
    const pax = { ...paxGlobal, ...paxNext };
    if (gnuName !== null) name = gnuName;
    if (gnuLink !== null) linkname = gnuLink;
    if (pax.path !== undefined) name = pax.path;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    let realSize = size;
    if (pax.size !== undefined) {
      realSize = Number(pax.size);
      if (!Number.isSafeInteger(realSize) || realSize < 0) throw new TarError("invalid pax size");
      bodyLeft = realSize;
      padLeft = (BLOCK - (realSize % BLOCK)) % BLOCK;
    }
    paxNext = {};
    gnuName = null;
    gnuLink = null;
    const type = TYPES[typeflag] ?? "other";
    header = { name, type, mode, size: type === "file" ? realSize : 0, linkname };
    const want = visitor.onEntry(header);
    if (want && type === "file") {
      if (realSize > limits.maxFileBytes) visitor.onTooLarge?.(header);
      else {
        collect = [];
        collectFor = "entry";
      }
    }
  };

  for await (const chunk of source) {
    total += chunk.length;
    if (total > limits.maxBytes)
      throw new TarError(`layer decompresses to more than ${limits.maxBytes} bytes`);
    pending.push(chunk);
    pendingLen += chunk.length;
    for (;;) {
      if (bodyLeft > 0) {
        if (pendingLen === 0) break;
        const n = Math.min(bodyLeft, pendingLen);
        const part = take(n);
        if (collect) collect.push(Buffer.from(part));
        bodyLeft -= n;
        if (bodyLeft > 0) break;
        await finishBody();
        continue;
      }
      if (collect) await finishBody();
      if (padLeft > 0) {
        if (pendingLen === 0) break;
        const n = Math.min(padLeft, pendingLen);
        take(n);
        padLeft -= n;
        if (padLeft > 0) break;
      }
      if (ended) {
        // Anything after the end-of-archive blocks is ignored (docker pads with zeros).
        pending = [];
        pendingLen = 0;
        break;
      }
      if (pendingLen < BLOCK) break;
      const h = take(BLOCK);
      if (isZeroBlock(h)) {
        ended = true;
        continue;
      }
      onHeader(Buffer.from(h));
    }
  }
  if (bodyLeft > 0 || (!ended && pendingLen > 0)) throw new TarError("truncated tar archive");
  if (collect) await finishBody();
}
