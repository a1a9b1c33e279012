import Database from "better-sqlite3";
import { TAG } from "./header.js";

/**
 * Test-only builders of rpm header blobs and of the three rpmdb backends, small and exact, so
 * the readers can be tested on known bytes and on precisely corrupted ones without fixtures.
 */

export interface HeaderTags {
  name?: string;
  version?: string;
  release?: string;
  epoch?: number;
  arch?: string;
  license?: string;
  sourceRpm?: string;
  modularityLabel?: string;
  vendor?: string;
  /** Installed files (absolute paths), written as DIRNAMES, BASENAMES and DIRINDEXES. */
  files?: string[];
}

const STRING_TAGS: [keyof HeaderTags, number][] = [
  ["name", TAG.NAME],
  ["version", TAG.VERSION],
  ["release", TAG.RELEASE],
  ["vendor", TAG.VENDOR],
  ["license", TAG.LICENSE],
  ["arch", TAG.ARCH],
  ["sourceRpm", TAG.SOURCERPM],
  ["modularityLabel", TAG.MODULARITYLABEL],
];

/** A header blob: index entries sorted by tag, strings NUL-terminated, int32 aligned. */
export function buildHeader(tags: HeaderTags): Buffer {
  const entries: { tag: number; type: number; value: Buffer; align: number; count?: number }[] = [];
  for (const [k, tag] of STRING_TAGS) {
    const v = tags[k];
    if (typeof v === "string") entries.push({ tag, type: 6, value: Buffer.from(v + "\0"), align: 1 });
  }
  if (tags.files?.length) {
    const dirs: string[] = [];
    const names: string[] = [];
    const index = Buffer.alloc(4 * tags.files.length);
    tags.files.forEach((f, i) => {
      const slash = f.lastIndexOf("/");
      const dir = f.slice(0, slash + 1);
      if (!dirs.includes(dir)) dirs.push(dir);
      names.push(f.slice(slash + 1));
      index.writeInt32BE(dirs.indexOf(dir), 4 * i);
    });
    const strings = (l: string[]) => Buffer.from(l.map((x) => x + "\0").join(""));
    const n = tags.files.length;
    entries.push({ tag: TAG.DIRINDEXES, type: 4, value: index, align: 4, count: n });
    entries.push({ tag: TAG.BASENAMES, type: 8, value: strings(names), align: 1, count: n });
    entries.push({ tag: TAG.DIRNAMES, type: 8, value: strings(dirs), align: 1, count: dirs.length });
  }
  if (tags.epoch !== undefined) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(tags.epoch);
    entries.push({ tag: TAG.EPOCH, type: 4, value: b, align: 4 });
  }
  entries.sort((a, b) => a.tag - b.tag);
  const data: Buffer[] = [];
  let dl = 0;
  const index = Buffer.alloc(16 * entries.length);
  entries.forEach((e, i) => {
    const pad = (e.align - (dl % e.align)) % e.align;
    if (pad) data.push(Buffer.alloc(pad));
    dl += pad;
    index.writeInt32BE(e.tag, 16 * i);
    index.writeUInt32BE(e.type, 16 * i + 4);
    index.writeInt32BE(dl, 16 * i + 8);
    index.writeUInt32BE(e.count ?? 1, 16 * i + 12);
    data.push(e.value);
    dl += e.value.length;
  });
  const head = Buffer.alloc(8);
  head.writeInt32BE(entries.length, 0);
  head.writeInt32BE(dl, 4);
  return Buffer.concat([head, index, ...data]);
}

/**
 * A Berkeley DB hash database holding `blobs` as off-page values under keys 1..n, plus rpm's
 * key-0 counter record. Page 0 metadata, page 1 the hash page, then the overflow chains.
 */
export function buildBdb(blobs: Buffer[], opts: { pageSize?: number; bigEndian?: boolean } = {}): Buffer {
  const ps = opts.pageSize ?? 512;
  const be = opts.bigEndian ?? false;
  const w32 = (b: Buffer, v: number, o: number) => (be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const w16 = (b: Buffer, v: number, o: number) => (be ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const room = ps - 26;
  const chains: { first: number; chunks: Buffer[]; total: number }[] = [];
  let next = 2;
  for (const blob of blobs) {
    const chunks: Buffer[] = [];
    for (let o = 0; o < blob.length; o += room) chunks.push(blob.subarray(o, o + room));
    if (chunks.length === 0) chunks.push(Buffer.alloc(0));
    chains.push({ first: next, chunks, total: blob.length });
    next += chunks.length;
  }
  const pages = Array.from({ length: next }, () => Buffer.alloc(ps));
  const meta = pages[0]!;
  w32(meta, 0x061561, 12);
  w32(meta, 9, 16);
  w32(meta, ps, 20);
  meta[25] = 8;
  w32(meta, next - 1, 32);

  const hash = pages[1]!;
  w32(hash, 1, 8);
  hash[25] = 13;
  const items: Buffer[] = [];
  const key = (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = 1;
    w32(b, n, 1);
    return b;
  };
  items.push(key(0), key(blobs.length + 1)); // rpm's key 0: the next instance number, inline
  chains.forEach((c, i) => {
    const v = Buffer.alloc(12);
    v[0] = 3;
    w32(v, c.first, 4);
    w32(v, c.total, 8);
    items.push(key(i + 1), v);
  });
  let top = ps;
  items.forEach((it, i) => {
    top -= it.length;
    if (top < 26 + 2 * items.length) throw new Error("buildBdb: too many blobs for one hash page");
    it.copy(hash, top);
    w16(hash, top, 26 + 2 * i);
  });
  w16(hash, items.length, 20);
  w16(hash, top, 22);

  for (const c of chains) {
    c.chunks.forEach((chunk, i) => {
      const pg = c.first + i;
      const page = pages[pg]!;
      w32(page, pg, 8);
      w32(page, i + 1 < c.chunks.length ? pg + 1 : 0, 16);
      w16(page, chunk.length, 22);
      page[25] = 7;
      chunk.copy(page, 26);
    });
  }
  return Buffer.concat(pages);
}

/** An NDB Packages.db with one slot page and `blobs` as packages 1..n. */
export function buildNdb(blobs: Buffer[]): Buffer {
  const slots = Buffer.alloc(4096);
  slots.write("RpmP", 0, "latin1");
  slots.writeUInt32LE(0, 4);
  slots.writeUInt32LE(1, 8);
  slots.writeUInt32LE(1, 12);
  for (let s = 32; s < 4096; s += 16) slots.write("Slot", s, "latin1");
  const parts: Buffer[] = [slots];
  let offset = 4096;
  blobs.forEach((blob, i) => {
    const head = Buffer.alloc(16);
    head.write("BlbS", 0, "latin1");
    head.writeUInt32LE(i + 1, 4);
    head.writeUInt32LE(blob.length, 12);
    const size = Math.ceil((16 + blob.length + 16) / 16) * 16; // header, blob, tail, padded
    const block = Buffer.alloc(size);
    head.copy(block);
    blob.copy(block, 16);
    const s = 32 + 16 * i;
    slots.writeUInt32LE(i + 1, s + 4);
    slots.writeUInt32LE(offset / 16, s + 8);
    slots.writeUInt32LE(size / 16, s + 12);
    parts.push(block);
    offset += size;
  });
  return Buffer.concat(parts);
}

/** An rpmdb.sqlite, marked as WAL-mode like the files rpm leaves behind. */
export function buildSqlite(blobs: Buffer[], opts: { wal?: boolean } = {}): Buffer {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)");
  const insert = db.prepare("INSERT INTO Packages (blob) VALUES (?)");
  for (const b of blobs) insert.run(b);
  const out = db.serialize();
  db.close();
  if (opts.wal ?? true) {
    out[18] = 2;
    out[19] = 2;
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift32): reproducible hostile input. */
export function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
