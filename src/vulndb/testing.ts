import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { pickImporter } from "./build.js";
import type { FeedImporter } from "./importers/types.js";
import { documentsOf } from "./sources.js";
import type { Advisory, Enrichment, FeedProblem } from "./types.js";

/**
 * Test support for the database and its OSV/enrichment importers: where the real feeds are
 * (../shared/vulndata, never copied into the repository), and small archive writers for the
 * broken documents the tests make themselves.
 */

export const vulndata = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../../shared"),
  "vulndata",
);

/** Null when every pack file exists, else the reason the test is skipped (printed by vitest). */
export function packMissing(...rel: string[]): string | null {
  for (const r of rel) {
    const p = join(vulndata, r);
    if (!existsSync(p)) return `../shared/vulndata/${r} not found at ${p}: skipped`;
  }
  return null;
}

export const pack = (rel: string): string => join(vulndata, rel);

/** A zip of the given members (deflated), as osv.dev writes them: local headers with sizes. */
export function makeZip(members: { name: string; data: string | Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const data = Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data);
    const comp = deflateRawSync(data);
    const name = Buffer.from(m.name);
    const crc = crc32(data) >>> 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(8, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(comp.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, comp);
    centrals.push(ch, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(members.length, 8);
  eocd.writeUInt16LE(members.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A gzipped ustar archive of the given regular files (names up to 256 bytes). */
export function makeTarGz(members: { name: string; data: string | Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data);
    const h = Buffer.alloc(512);
    // Names over 100 bytes go through the ustar prefix field, split at a slash.
    let name = m.name;
    if (name.length > 100) {
      const cut = name.lastIndexOf("/", 155);
      h.write(name.slice(0, cut), 345, 155);
      name = name.slice(cut + 1);
    }
    h.write(name, 0, 100);
    h.write("0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
    h.write("00000000000\0", 136);
    h.write("        ", 148);
    h.write("0", 156);
    h.write("ustar\0" + "00", 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** A minimal valid OSV record for tests. */
export function osvRecord(
  id: string,
  opts: { ecosystem?: string; name?: string; fixed?: string; aliases?: string[]; summary?: string } = {},
): Record<string, unknown> {
  return {
    schema_version: "1.6.0",
    id,
    modified: "2024-01-01T00:00:00Z",
    aliases: opts.aliases ?? [],
    summary: opts.summary ?? `summary of ${id}`,
    affected: [
      {
        package: { ecosystem: opts.ecosystem ?? "Go", name: opts.name ?? "example.com/mod" },
        ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: opts.fixed ?? "1.2.3" }] }],
      },
    ],
  };
}

export interface ImportedFile {
  advisories: Advisory[];
  enrichments: Enrichment[];
  problems: FeedProblem[];
  skipped: number;
  documents: number;
  unrecognized: number;
}

/**
 * Runs one importer over a file (archives expanded as `db import` does): `recognizes` on the
 * name and head of every document, then `parse`. Damage found while reading is a problem.
 */
export async function importFile(
  importer: FeedImporter,
  src: string | Buffer,
  label?: string,
): Promise<ImportedFile> {
  const out: ImportedFile = {
    advisories: [],
    enrichments: [],
    problems: [],
    skipped: 0,
    documents: 0,
    unrecognized: 0,
  };
  for await (const item of documentsOf(src, label ?? (typeof src === "string" ? src : "buffer"))) {
    if (item.kind === "problem") {
      out.problems.push({ feed: importer.id, document: item.document, reason: item.reason });
      continue;
    }
    if (!pickImporter([importer], item.doc)) {
      out.unrecognized++;
      continue;
    }
    out.documents++;
    for await (const x of importer.parse(item.doc)) {
      if (x.kind === "advisory") out.advisories.push(x.advisory);
      else if (x.kind === "enrichment") out.enrichments.push(x.enrichment);
      else if (x.kind === "problem") out.problems.push(x.problem);
      else out.skipped++;
    }
  }
  return out;
}
