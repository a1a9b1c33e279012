import { describe, expect, it } from "vitest";
import { testContext } from "../../testing.js";
import type { CatalogResult } from "../../types.js";
import { Problems } from "../problems.js";
import { readBerkeleyHash } from "./bdb.js";
import { parseSourceRpm, rpmCataloger } from "./cataloger.js";
import { parseHeader, TAG } from "./header.js";
import { readNdb } from "./ndb.js";
import { readRpmSqlite } from "./sqlite.js";
import {
  buildBdb,
  buildHeader,
  buildNdb,
  buildSqlite,
  randomBytes,
  type HeaderTags,
} from "./rpmdb-testing.js";

const bash: HeaderTags = {
  name: "bash",
  version: "5.1.8",
  release: "6.el9",
  arch: "x86_64",
  license: "GPLv3+",
  sourceRpm: "bash-5.1.8-6.el9.src.rpm",
  vendor: "Red Hat, Inc.",
};
const nodejs: HeaderTags = {
  name: "nodejs",
  version: "18.14.2",
  release: "2.module+el8.7.0+18113+1e7f8a2e",
  epoch: 1,
  arch: "x86_64",
  license: "MIT and ASL 2.0 and ISC and BSD",
  sourceRpm: "nodejs-18.14.2-2.module+el8.7.0+18113+1e7f8a2e.src.rpm",
  modularityLabel: "nodejs:18:8070020230306170042:8c0c8e0a",
};
// A long header spanning several 512-byte overflow pages.
const big: HeaderTags = { ...bash, name: "big", license: "X".repeat(3000) };
const keys: HeaderTags = { name: "gpg-pubkey", version: "fd431d51", release: "4ae0493b" };

function parse(path: string, content: Buffer): CatalogResult {
  return rpmCataloger.parse(
    { path, size: content.length, mode: 0o644, content },
    testContext,
  ) as CatalogResult;
}

const backends = [
  ["Berkeley DB", "/var/lib/rpm/Packages", buildBdb],
  ["Berkeley DB big-endian", "/var/lib/rpm/Packages", (b: Buffer[]) => buildBdb(b, { bigEndian: true })],
  ["NDB", "/usr/lib/sysimage/rpm/Packages.db", buildNdb],
  ["SQLite", "/var/lib/rpm/rpmdb.sqlite", buildSqlite],
] as const;

describe("rpm header blobs", () => {
  it("decodes the inventory tags", () => {
    expect(parseHeader(buildHeader(nodejs))).toEqual(nodejs);
  });

  it("lets a later entry of a tag override an earlier one (dribbles after the region)", () => {
    const blob = buildHeader({ name: "a", version: "1", release: "1" });
    // Rewrite the VERSION entry's tag to NAME: two NAME entries, the later one wins.
    blob.writeInt32BE(TAG.NAME, 8 + 16);
    expect(parseHeader(blob)).toMatchObject({ name: "1" });
  });

  it("turns corrupt blobs into reasons", () => {
    const good = buildHeader(bash);
    const cases: [string, Buffer][] = [
      ["empty", Buffer.alloc(0)],
      ["no tags", Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])],
      ["tag count too large", Buffer.from([0x7f, 0, 0, 0, 0, 0, 0, 0])],
      ["negative data length", Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])],
      ["truncated", good.subarray(0, good.length - 3)],
    ];
    const badOffset = Buffer.from(good);
    badOffset.writeInt32BE(1 << 20, 8 + 8);
    cases.push(["offset outside data", badOffset]);
    const badType = Buffer.from(good);
    badType.writeUInt32BE(4, 8 + 4); // NAME as an int32
    cases.push(["wrong type", badType]);
    const unterminated = Buffer.from(good);
    unterminated[unterminated.length - 1] = 0x41; // the last string loses its NUL
    cases.push(["unterminated string", unterminated]);
    for (const [what, blob] of cases) expect(typeof parseHeader(blob), what).toBe("string");
  });

  it("stays linear when one tag is repeated 65535 times", () => {
    const il = 0xffff;
    const dl = 1 << 20;
    const blob = Buffer.alloc(8 + 16 * il + dl, 0x41); // one huge unterminated string
    blob.writeInt32BE(il, 0);
    blob.writeInt32BE(dl, 4);
    for (let i = 0; i < il; i++) {
      blob.writeInt32BE(TAG.NAME, 8 + 16 * i);
      blob.writeUInt32BE(6, 8 + 16 * i + 4);
      blob.writeInt32BE(0, 8 + 16 * i + 8);
      blob.writeUInt32BE(1, 8 + 16 * i + 12);
    }
    expect(parseHeader(blob)).toBe("tag 1000: unterminated string");
  });
});

describe("parseSourceRpm", () => {
  it("splits name-version-release.src.rpm from the right", () => {
    expect(parseSourceRpm("util-linux-2.32.1-42.el8_8.src.rpm")).toEqual({
      name: "util-linux",
      version: "2.32.1",
      release: "42.el8_8",
    });
    expect(parseSourceRpm("gcc11-11.2.1+git610-1.3.9.nosrc.rpm")).toMatchObject({ name: "gcc11" });
    expect(parseSourceRpm("nonsense")).toBeNull();
  });
});

describe("rpm file lists", () => {
  const urllib3: HeaderTags = {
    name: "python3-urllib3",
    version: "1.26.5",
    release: "3.el9",
    arch: "noarch",
    sourceRpm: "python-urllib3-1.26.5-3.el9.src.rpm",
    files: [
      "/usr/lib/python3.9/site-packages/urllib3",
      "/usr/lib/python3.9/site-packages/urllib3/__init__.py",
      "/usr/lib/python3.9/site-packages/urllib3-1.26.5-py3.9.egg-info",
      "/usr/lib/python3.9/site-packages/urllib3-1.26.5-py3.9.egg-info/PKG-INFO",
      "/usr/share/doc/python3-urllib3/README.rst",
    ],
  };

  it("decodes DIRNAMES[DIRINDEXES[i]] + BASENAMES[i] for the base names asked for, only when asked", () => {
    expect(parseHeader(buildHeader(urllib3), { fileName: () => true })).toEqual(urllib3);
    expect(parseHeader(buildHeader(urllib3), { fileName: (n) => n === "PKG-INFO" })).toMatchObject({
      files: ["/usr/lib/python3.9/site-packages/urllib3-1.26.5-py3.9.egg-info/PKG-INFO"],
    });
    expect(parseHeader(buildHeader(urllib3))).not.toHaveProperty("files");
  });

  it("reports the files that can be evidence of a language package as owned by their package", () => {
    const r = parse("/var/lib/rpm/rpmdb.sqlite", buildSqlite([buildHeader(bash), buildHeader(urllib3)]));
    expect(r.problems).toBeUndefined();
    expect(r.packages.map((p) => p.name)).toEqual(["bash", "python3-urllib3"]);
    // the egg-info directory itself is a directory entry; its PKG-INFO is what the cataloger reads
    expect(r.owned).toEqual([
      ["/usr/lib/python3.9/site-packages/urllib3-1.26.5-py3.9.egg-info", "python3-urllib3"],
      ["/usr/lib/python3.9/site-packages/urllib3-1.26.5-py3.9.egg-info/PKG-INFO", "python3-urllib3"],
    ]);
  });

  it("keeps the package when its file list is damaged, with a problem", () => {
    const blob = buildHeader(urllib3);
    // DIRINDEXES is the first index entry (lowest tag): make its count disagree with BASENAMES
    const il = blob.readInt32BE(0);
    for (let i = 0; i < il; i++)
      if (blob.readInt32BE(8 + 16 * i) === TAG.DIRINDEXES) blob.writeUInt32BE(2, 8 + 16 * i + 12);
    const h = parseHeader(blob, { fileName: () => true });
    expect(h).toMatchObject({
      name: "python3-urllib3",
      filesProblem: "DIRINDEXES has 2 entries for 5 BASENAMES",
    });
    const r = parse("/var/lib/rpm/rpmdb.sqlite", buildSqlite([blob]));
    expect(r.packages.map((p) => p.name)).toEqual(["python3-urllib3"]);
    expect(r.problems).toEqual([
      "python3-urllib3: file list unreadable: DIRINDEXES has 2 entries for 5 BASENAMES",
    ]);
  });
});

describe.each(backends)("rpmdb %s", (_what, path, build) => {
  it("reads every package with epoch, release, source and modularity label", () => {
    const r = parse(
      path,
      build([buildHeader(bash), buildHeader(nodejs), buildHeader(big), buildHeader(keys)]),
    );
    expect(r.problems).toBeUndefined();
    expect(r.packages.map((p) => p.name)).toEqual(["bash", "nodejs", "big"]); // gpg-pubkey is a key
    const [b, n] = r.packages;
    expect(b).toMatchObject({
      version: "5.1.8-6.el9",
      release: "6.el9",
      arch: "x86_64",
      sourceName: "bash",
      sourceVersion: "5.1.8-6.el9",
      licenses: ["GPLv3+"],
      metadata: { sourceRpm: "bash-5.1.8-6.el9.src.rpm", vendor: "Red Hat, Inc." },
      purl: "pkg:rpm/bash@5.1.8-6.el9?arch=x86_64&upstream=bash-5.1.8-6.el9.src.rpm",
      path,
    });
    expect(b!.epoch).toBeUndefined();
    expect(n).toMatchObject({
      version: "1:18.14.2-2.module+el8.7.0+18113+1e7f8a2e",
      epoch: 1,
      sourceName: "nodejs",
      sourceVersion: "1:18.14.2-2.module+el8.7.0+18113+1e7f8a2e",
      metadata: { modularityLabel: "nodejs:18:8070020230306170042:8c0c8e0a" },
    });
    expect(r.packages[2]!.licenses).toEqual(["X".repeat(3000)]);
  });

  it("survives every truncation with problems, never a throw, never a wrong package", () => {
    const full = build([buildHeader(bash), buildHeader(big), buildHeader(nodejs)]);
    const whole = parse(path, full).packages;
    for (let n = 0; n < full.length; n += 97) {
      const r = parse(path, full.subarray(0, n));
      expect(r.problems?.length ?? 0, `cut at ${n} of ${full.length}`).toBeGreaterThan(0);
      // What is returned is exact; SQLite may still have every row when only free space was cut.
      for (const p of r.packages) expect(whole).toContainEqual(p);
    }
  });

  it("survives random corruption of the body", () => {
    const full = build([buildHeader(bash), buildHeader(big), buildHeader(nodejs)]);
    for (let seed = 1; seed <= 40; seed++) {
      const noise = randomBytes(full.length, seed);
      const bad = Buffer.from(full);
      // Keep the first 64 bytes (the magic) so the backend's reader, not the sniffing, is tested.
      for (let i = 64; i < bad.length; i += 1 + (noise[i]! % 50)) bad[i] = noise[i]!;
      expect(() => parse(path, bad)).not.toThrow();
    }
  });
});

describe("hostile rpm databases", () => {
  it("reports random bytes and empty files as problems", () => {
    for (const [n, seed] of [
      [0, 1],
      [10, 2],
      [4096, 3],
      [100_000, 4],
    ]) {
      const r = parse("/var/lib/rpm/Packages", randomBytes(n!, seed!));
      expect(r.packages).toEqual([]);
      expect(r.problems?.length).toBeGreaterThan(0);
    }
  });

  it("stops at an overflow page loop", () => {
    const db = buildBdb([buildHeader(big)]);
    // The chain is pages 2..n; make the last page point back to page 2.
    const last = db.length / 512 - 1;
    db.writeUInt32LE(2, last * 512 + 16);
    const r = parse("/var/lib/rpm/Packages", db);
    expect(r.packages).toEqual([]);
    expect(r.problems?.join("\n")).toMatch(/reached twice/);
  });

  it("reports a chain that leaves the file or lands on a non-overflow page", () => {
    const past = buildBdb([buildHeader(big)]);
    past.writeUInt32LE(10_000, 2 * 512 + 16);
    expect(parse("/var/lib/rpm/Packages", past).problems?.join("\n")).toMatch(/past the end/);
    const meta = buildBdb([buildHeader(big)]);
    meta.writeUInt32LE(1, 2 * 512 + 16); // points at the hash page
    expect(parse("/var/lib/rpm/Packages", meta).problems?.join("\n")).toMatch(/not an overflow page/);
  });

  it("reads each overflow page once even when many items share a chain", () => {
    const db = buildBdb([buildHeader(big), buildHeader(bash), buildHeader(nodejs)]);
    // Point the second and third values at the first chain.
    const problems = new Problems(1000);
    const hash = db.subarray(512, 1024);
    const first = hash.readUInt32LE(hash.readUInt16LE(26 + 2 * 3) + 4);
    for (const item of [5, 7]) hash.writeUInt32LE(first, hash.readUInt16LE(26 + 2 * item) + 4);
    const blobs = readBerkeleyHash(db, problems);
    expect(blobs).toHaveLength(1);
    expect(problems.list()?.join("\n")).toMatch(/reached twice/);
  });

  it("reports a Berkeley DB whose metadata claims more pages than the file has", () => {
    const db = buildBdb([buildHeader(bash)]);
    db.writeUInt32LE(1_000_000, 32);
    const r = parse("/var/lib/rpm/Packages", db);
    expect(r.packages.map((p) => p.name)).toEqual(["bash"]);
    expect(r.problems?.join("\n")).toMatch(/truncated/);
  });

  it("reports NDB slots pointing outside the file and a slot page count past the end", () => {
    const db = buildNdb([buildHeader(bash), buildHeader(nodejs)]);
    db.writeUInt32LE(0xffffffff, 32 + 8); // first slot's block offset
    const problems = new Problems();
    expect(readNdb(db, problems)).toHaveLength(1);
    expect(problems.list()?.join("\n")).toMatch(/outside the blob area/);
    const many = buildNdb([buildHeader(bash)]);
    many.writeUInt32LE(0xffffffff, 12);
    const p2 = new Problems();
    readNdb(many, p2);
    expect(p2.count).toBeGreaterThan(0);
  });

  it("reports an SQLite file that is not an rpmdb or is cut short", () => {
    const problems = new Problems();
    const db = buildSqlite([buildHeader(bash)]);
    expect(readRpmSqlite(db.subarray(0, 2048), problems)).toEqual([]);
    expect(problems.count).toBeGreaterThan(0);
    const other = new Problems();
    const notRpm = buildSqlite([]);
    // Same bytes, the table renamed in the schema text: "no such table: Packages".
    const renamed = Buffer.from(notRpm.toString("latin1").replace("'Packages'", "'Packagez'"), "latin1");
    expect(readRpmSqlite(renamed, other)).toEqual([]);
    expect(other.list()?.join("\n")).toMatch(/Packages|malformed/);
  });

  it("leaves the caller's buffer untouched when patching the WAL header", () => {
    const db = buildSqlite([buildHeader(bash)]);
    const before = Buffer.from(db);
    parse("/var/lib/rpm/rpmdb.sqlite", db);
    expect(db.equals(before)).toBe(true);
  });
});

describe("rpmCataloger.matches", () => {
  it("wants the three backends in the rpm directories only", () => {
    for (const p of [
      "/var/lib/rpm/Packages",
      "/var/lib/rpm/rpmdb.sqlite",
      "/usr/lib/sysimage/rpm/Packages.db",
      "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    ])
      expect(rpmCataloger.matches(p, 0o644), p).toBe(true);
    for (const p of [
      "/var/lib/rpm/Name",
      "/var/lib/rpm/rpmdb.sqlite-wal",
      "/opt/var/lib/rpm/Packages",
      "/Packages",
    ])
      expect(rpmCataloger.matches(p, 0o644), p).toBe(false);
  });
});
