/**
 * Regular-file members of a (decompressed) tar stream, one member buffered at a time: enough
 * of POSIX ustar, pax (`path`, `size`) and GNU long names for the feed tarballs upstream
 * projects publish. A stream that ends mid-member yields a problem for that member; the
 * members before it are kept.
 */

export type TarItem =
  { kind: "member"; name: string; content: Buffer } | { kind: "problem"; document: string; reason: string };

const BLOCK = 512;
/** Largest member read into memory (the importer contract hands documents over as buffers). */
export const MAX_TAR_MEMBER_BYTES = 1024 ** 3;

/** Accumulates stream chunks and hands out exact byte counts without re-copying everything. */
class Queue {
  private chunks: Buffer[] = [];
  private length = 0;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** Ensures n bytes are buffered; false when the stream ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.length < n) {
      const r = await this.it.next();
      if (r.done) return false;
      this.chunks.push(r.value);
      this.length += r.value.length;
    }
    return true;
  }

  take(n: number): Buffer {
    if (this.chunks[0]!.length >= n) {
      const first = this.chunks[0]!;
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const all = Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length -= n;
    return out;
  }

  /** Drops n bytes (or as many as there are); false when the stream ends first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.length === 0 && !(await this.fill(1))) return false;
      const k = Math.min(n, this.length);
      this.take(k);
      n -= k;
    }
    return true;
  }
}

function field(h: Buffer, off: number, len: number): string {
  const end = h.indexOf(0, off);
  return h.toString("utf8", off, end < 0 || end > off + len ? off + len : end);
}

function octal(h: Buffer, off: number, len: number): number {
  // GNU base-256 for sizes over 8 GiB: high bit of the first byte set.
  if (h[off]! & 0x80) {
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + h[i]!;
    return v;
  }
  const s = field(h, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function paxRecords(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < buf.length) {
    const sp = buf.indexOf(0x20, p);
    if (sp < 0) break;
    const len = parseInt(buf.toString("utf8", p, sp), 10);
    if (!(len > 0)) break;
    const rec = buf.toString("utf8", sp + 1, p + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    p += len;
  }
  return out;
}

/** Members of the tar stream `source`; `label` prefixes document names in problems. */
export async function* readTar(source: AsyncIterable<Buffer>, label: string): AsyncGenerator<TarItem> {
  const q = new Queue(source[Symbol.asyncIterator]());
  let longName: string | undefined;
  let pax = new Map<string, string>();
  const globalPax = new Map<string, string>();
  for (;;) {
    if (!(await q.fill(BLOCK))) return; // end without the two zero blocks: tolerated, like GNU tar
    const h = q.take(BLOCK);
    if (h.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== octal(h, 148, 8)) {
      yield { kind: "problem", document: label, reason: "tar header checksum mismatch (damaged archive)" };
      return;
    }
    const type = String.fromCharCode(h[156]!);
    const prefix = field(h, 345, 155);
    let name =
      longName ?? pax.get("path") ?? globalPax.get("path") ?? (prefix ? `${prefix}/` : "") + field(h, 0, 100);
    const size = pax.has("size") ? Number(pax.get("size")) : octal(h, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const isMeta = type === "L" || type === "x" || type === "g";
    if (isMeta || type === "0" || type === "\0" || type === "7") {
      if (size > MAX_TAR_MEMBER_BYTES) {
        yield {
          kind: "problem",
          document: `${label}!${name}`,
          reason: `member larger than ${MAX_TAR_MEMBER_BYTES} bytes`,
        };
        if (!(await q.skip(padded))) return;
        longName = undefined;
        pax = new Map();
        continue;
      }
      if (!(await q.fill(padded))) {
        yield {
          kind: "problem",
          document: `${label}!${name}`,
          reason: "archive ends inside this member (truncated)",
        };
        return;
      }
      const data = Buffer.from(q.take(padded).subarray(0, size));
      if (type === "L") {
        longName = field(data, 0, data.length);
        continue;
      }
      if (type === "x") {
        pax = paxRecords(data);
        continue;
      }
      if (type === "g") {
        for (const [k, v] of paxRecords(data)) globalPax.set(k, v);
        continue;
      }
      if (name.startsWith("./")) name = name.slice(2);
      yield { kind: "member", name, content: data };
    } else if (!(await q.skip(padded))) {
      yield {
        kind: "problem",
        document: `${label}!${name}`,
        reason: "archive ends inside this member (truncated)",
      };
      return;
    }
    longName = undefined;
    pax = new Map();
  }
}
