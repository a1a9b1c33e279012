import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { tarball, type TarEntrySpec } from "../../image/testdata/images.js";
import { makeZip } from "../testing.js";
import { readTar, type TarItem } from "./tar.js";
import { readZip, type ZipItem } from "./zip.js";

/**
 * Feed archives as documents, read with the one tar reader (src/image/tar.ts) and the one zip
 * reader (src/catalog/lang/java/zip.ts): members in order, damage as problems, never a throw.
 */

const dir = mkdtempSync(join(tmpdir(), "drydock-feed-archive-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const show = (items: (TarItem | ZipItem)[]) =>
  items.map((i) =>
    i.kind === "member" ? `${i.name}=${i.content.toString()}` : `! ${i.document}: ${i.reason}`,
  );

async function* chunks(buf: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, off + size);
}

async function tarItems(source: AsyncIterable<Buffer>, label = "feed.tar"): Promise<TarItem[]> {
  const out: TarItem[] = [];
  for await (const item of readTar(source, label)) out.push(item);
  return out;
}

const LOCAL_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const CENTRAL_HEADER = Buffer.from([0x50, 0x4b, 0x01, 0x02]);

describe("feed zips", () => {
  const zip = makeZip([
    { name: "a/GO-1.json", data: "{1}" },
    { name: "b/", data: "" },
    { name: "GO-2.json", data: "{2}" },
  ]);

  it("yields the file members in order, from a file or from bytes", () => {
    const path = join(dir, "all.zip");
    writeFileSync(path, zip);
    expect(show([...readZip(path, "all.zip")])).toEqual(["a/GO-1.json={1}", "GO-2.json={2}"]);
    expect(show([...readZip(zip, "all.zip")])).toEqual(["a/GO-1.json={1}", "GO-2.json={2}"]);
  });

  it("reports a member whose bytes do not match its CRC, and reads the others", () => {
    const bad = Buffer.from(zip);
    const crc = bad.indexOf(CENTRAL_HEADER) + 16; // the first member's CRC in the directory
    bad[crc] = bad[crc]! ^ 0xff;
    expect(show([...readZip(bad, "all.zip")])).toEqual([
      "! all.zip!a/GO-1.json: unreadable zip member: CRC mismatch",
      "GO-2.json={2}",
    ]);
  });

  it("walks the local headers of a zip cut short, and says where it stops", () => {
    expect(show([...readZip(zip.subarray(0, zip.length - 30), "all.zip")])).toEqual([
      "a/GO-1.json={1}",
      "GO-2.json={2}",
      "! all.zip: no end of central directory record (truncated or not a zip); 3 members recovered from local headers",
    ]);
    const cut = zip.indexOf(LOCAL_HEADER, zip.indexOf("GO-2.json") - 30) + 30 + "GO-2.json".length + 1;
    expect(show([...readZip(zip.subarray(0, cut), "all.zip")])).toEqual([
      "a/GO-1.json={1}",
      `! all.zip!GO-2.json: no end of central directory record (truncated or not a zip); member cut off at byte ${cut}`,
    ]);
    expect(show([...readZip(Buffer.from("not a zip"), "x.zip")])).toEqual([
      "! x.zip: no end of central directory record (truncated or not a zip)",
    ]);
  });
});

describe("feed tarballs", () => {
  const entries: TarEntrySpec[] = [
    { name: "./vulns/", type: "5" },
    { name: "./vulns/a/PYSEC-1.yaml", body: "id: PYSEC-1\n" },
    { name: "vulns/link", type: "2", linkname: "a" },
    { name: `vulns/${"n".repeat(120)}.yaml`, body: "long", gnuLongName: true },
    { name: "x", body: "pax", pax: { path: "vulns/from-pax.yaml" } },
  ];
  const tar = tarball(entries);

  it("yields the regular files in order, names without ./", async () => {
    expect(show(await tarItems(chunks(tar)))).toEqual([
      "vulns/a/PYSEC-1.yaml=id: PYSEC-1\n",
      `vulns/${"n".repeat(120)}.yaml=long`,
      "vulns/from-pax.yaml=pax",
    ]);
  });

  it("keeps the members before damage and reports it", async () => {
    const cut = tar.indexOf("long") + 2;
    expect(show(await tarItems(chunks(tar.subarray(0, cut))))).toEqual([
      "vulns/a/PYSEC-1.yaml=id: PYSEC-1\n",
      `! feed.tar: truncated tar archive (last member: vulns/${"n".repeat(120)}.yaml)`,
    ]);
    const corrupt = Buffer.from(tar);
    corrupt[1546] = corrupt[1546]! ^ 0xff; // inside the third entry's header (the link), at 1536
    expect(show(await tarItems(chunks(corrupt)))).toEqual([
      "vulns/a/PYSEC-1.yaml=id: PYSEC-1\n",
      "! feed.tar: corrupt tar header (bad checksum) at byte 1536 (last member: vulns/a/PYSEC-1.yaml)",
    ]);
  });

  it("reports a member over the size limit without reading it into memory", async () => {
    const huge = tarball([{ name: "big.json", body: "", headerSize: 2 * 1024 ** 3, base256Size: true }], {
      eoa: false,
    });
    expect(show(await tarItems(chunks(huge)))).toEqual([
      "! feed.tar!big.json: member larger than 1073741824 bytes",
      "! feed.tar: truncated tar archive (last member: big.json)",
    ]);
  });

  it("throws the source's own error after the members read before it", async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield tar.subarray(0, 1536);
      throw new Error("unexpected end of file");
    }
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const item of readTar(failing(), "feed.tar.gz")) seen.push(...show([item]));
      })(),
    ).rejects.toThrow("unexpected end of file");
    expect(seen).toEqual(["vulns/a/PYSEC-1.yaml=id: PYSEC-1\n"]);
  });

  it("reads no further than the consumer asks, and closes the source when it stops", async () => {
    let pulled = 0;
    let closed = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        for await (const c of chunks(Buffer.concat([tar, tar]), 512)) {
          pulled++;
          yield c;
        }
      } finally {
        closed = true;
      }
    }
    for await (const item of readTar(source(), "feed.tar")) {
      expect(item.kind).toBe("member");
      break;
    }
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(6);
  });
});

describe("feed archives: properties", () => {
  const member = fc.record({
    name: fc.oneof(fc.constantFrom("GO-1.json", "./a/b.yaml", "dir/"), fc.string({ maxLength: 30 })),
    data: fc.uint8Array({ maxLength: 800 }).map((b) => Buffer.from(b)),
  });
  /** Real-shaped archives, then damaged: bytes changed, cut short. */
  const damaged = (make: (members: { name: string; data: Buffer }[]) => Buffer) =>
    fc
      .record({
        members: fc.array(member, { maxLength: 4 }),
        edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }),
        cut: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat() }),
      })
      .map(({ members, edits, cut }) => {
        const buf = make(members);
        for (const [pos, byte] of edits) if (buf.length) buf[pos % buf.length] = byte;
        return cut === undefined ? buf : buf.subarray(0, cut % (buf.length + 1));
      });
  const bytes = fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b));
  const isItem = (i: TarItem | ZipItem) =>
    i.kind === "member" ? Buffer.isBuffer(i.content) : typeof i.reason === "string" && i.reason.length > 0;

  it("any bytes make zip members and problems, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(damaged(makeZip), bytes), (buf) => {
        for (const item of readZip(buf, "x.zip")) expect(isItem(item)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("any bytes make tar members and problems, never a throw", async () => {
    const tar = (members: { name: string; data: Buffer }[]) =>
      tarball(members.map((m) => ({ name: m.name, body: m.data })));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(damaged(tar), bytes),
        fc.integer({ min: 1, max: 1100 }),
        async (buf, size) => {
          for (const item of await tarItems(chunks(buf, size))) expect(isItem(item)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
