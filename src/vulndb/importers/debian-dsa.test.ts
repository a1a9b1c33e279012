import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { debianDsaImporter } from "./debian-dsa.js";
import {
  advisoryById,
  missingVulndata,
  readPackFile,
  readPackTarGz,
  runImporter,
} from "./native-feed-testing.js";
import type { FeedDocument } from "./types.js";

const DSA = "distro/debian/DSA-list.gz";
const DLA = "distro/debian/DLA-list.gz";
const SAMPLES = "samples/anchore-vunnel-format-samples.tar.gz";

const doc = (name: string, body: string | Buffer): FeedDocument => ({
  name,
  content: Buffer.isBuffer(body) ? body : Buffer.from(body),
});

const LIST = [
  "[29 Mar 2023] DSA-5380-1 xorg-server - security update",
  "\t{CVE-2023-1393}",
  "\t[bullseye] - xorg-server 2:1.20.11-1+deb11u6",
  "[31 Dec 2009] DSA-1964-1 postgresql-7.4 postgresql-8.3 - several vulnerabilities",
  "\t{CVE-2009-4034 CVE-2009-4136}",
  "\t[etch] - postgresql-7.4 1:7.4.27-0etch1",
  "\t[lenny] - postgresql-8.3 <not-affected> (Vulnerable code not present)",
  "\tNOTE: fixed in testing at time of DSA",
  "[01 Aug 2002] DSA-141 mpack - buffer overflow",
  "        { CVE-2002-1425 }",
  "        [woody] - mpack 1.5-7woody2 (bug #1; medium)",
  "[18 Apr 2018] DSA-4205-1 jessie end-of-life",
  "",
].join("\n");

describe("debian DSA/DLA list importer", () => {
  it("recognizes the lists by path and first line", () => {
    const head = Buffer.from(LIST.slice(0, 100));
    for (const name of ["data/DSA/list", "x/DLA-list.gz", "debian/DSA-list", "input/DSA"])
      expect(debianDsaImporter.recognizes({ name, head: name.endsWith(".gz") ? gzipSync(head) : head })).toBe(
        true,
      );
    expect(debianDsaImporter.recognizes({ name: "data/CVE/list", head })).toBe(false);
    expect(debianDsaImporter.recognizes({ name: "data/DSA/list", head: Buffer.from("CVE-2024-1 (x)") })).toBe(
      false,
    );
    expect(debianDsaImporter.upstream?.map((u) => u.mirrorPath)).toEqual([
      "debian/DSA-list",
      "debian/DLA-list",
    ]);
  });

  it("makes one advisory per DSA with its CVEs as aliases and one affected entry per release line", async () => {
    const run = await runImporter(debianDsaImporter, [doc("data/DSA/list", LIST)]);
    expect(run.problems).toEqual([]);
    expect(run.advisories.map((a) => a.id)).toEqual(["DSA-5380-1", "DSA-1964-1", "DSA-141", "DSA-4205-1"]);
    expect(advisoryById(run, "DSA-5380-1")).toEqual({
      id: "DSA-5380-1",
      source: "debian-dsa",
      aliases: ["CVE-2023-1393"],
      published: "2023-03-29",
      summary: "xorg-server - security update",
      references: [{ type: "ADVISORY", url: "https://security-tracker.debian.org/tracker/DSA-5380-1" }],
      affected: [
        {
          ecosystem: "debian:11",
          package: "xorg-server",
          status: "affected",
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "2:1.20.11-1+deb11u6" }] }],
        },
      ],
    });
    expect(advisoryById(run, "DSA-1964-1").affected.map((x) => [x.ecosystem, x.package, x.status])).toEqual([
      ["debian:4", "postgresql-7.4", "affected"],
      ["debian:5", "postgresql-8.3", "not_affected"],
    ]);
    const old = advisoryById(run, "DSA-141");
    expect(old.aliases).toEqual(["CVE-2002-1425"]);
    expect(old.affected[0]).toMatchObject({ ecosystem: "debian:3.0", severity: "medium" });
    expect(advisoryById(run, "DSA-4205-1").affected).toEqual([]);
  });

  it("tags DLA documents as debian-dla", async () => {
    const run = await runImporter(debianDsaImporter, [
      doc(
        "x/DLA-list.gz",
        gzipSync("[01 Apr 2023] DLA-3380-1 curl - security update\n\t[buster] - curl 1.0\n"),
      ),
    ]);
    expect(run.advisories.map((a) => [a.id, a.source, a.affected[0]?.ecosystem])).toEqual([
      ["DLA-3380-1", "debian-dla", "debian:10"],
    ]);
  });

  it("reports broken lines and documents with feed and document, and goes on", async () => {
    const broken = LIST.replace(
      "\t[etch] - postgresql-7.4 1:7.4.27-0etch1",
      "\tgarbage here\n\t[hurd] - x 1.0",
    )
      .replace("{CVE-2023-1393}", "{CVE-2023-1393 BUG-1}")
      .replace("[woody] - mpack 1.5-7woody2", "[woody] - mpack <weird>");
    const run = await runImporter(debianDsaImporter, [
      doc("a/DSA-list.gz", gzipSync(LIST).subarray(0, 120)),
      doc("b/DSA/list", broken),
    ]);
    expect(run.problems).toEqual([
      { feed: "debian-dsa", document: "a/DSA-list.gz", reason: expect.stringMatching(/unreadable document/) },
      { feed: "debian-dsa", document: "b/DSA/list", reason: "line 2: DSA-5380-1: not CVE ids: BUG-1" },
      {
        feed: "debian-dsa",
        document: "b/DSA/list",
        reason: 'line 6: DSA-1964-1: unrecognized line "garbage here"',
      },
      { feed: "debian-dsa", document: "b/DSA/list", reason: "line 7: DSA-1964-1: unknown release [hurd]" },
      { feed: "debian-dsa", document: "b/DSA/list", reason: "line 12: DSA-141: unknown marker <weird>" },
    ]);
    expect(run.advisories.map((a) => a.id)).toEqual(["DSA-5380-1", "DSA-1964-1", "DSA-141", "DSA-4205-1"]);
  });

  const missingSamples = missingVulndata(SAMPLES);
  it.skipIf(missingSamples !== null)(
    `reads the DSA excerpt in the samples ${missingSamples ?? ""}`,
    async () => {
      const docs = (await readPackTarGz(SAMPLES)).filter((d) =>
        d.name.endsWith("/debian/test-fixtures/input/DSA"),
      );
      const run = await runImporter(debianDsaImporter, docs);
      expect(run.problems).toEqual([]);
      expect(run.advisories).toHaveLength(10);
      // A bookworm fix (the pack's full lists stop before bookworm was released).
      expect(advisoryById(run, "DSA-5970-1")).toMatchObject({
        aliases: ["CVE-2025-53603"],
        published: "2025-07-31",
        affected: [
          {
            ecosystem: "debian:12",
            package: "sope",
            status: "affected",
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "5.8.0-1+deb12u1" }] }],
          },
        ],
      });
    },
  );

  const missing = missingVulndata(DSA) ?? missingVulndata(DLA);
  it.skipIf(missing !== null)(`imports the real DSA and DLA lists ${missing ?? ""}`, async () => {
    const started = Date.now();
    const dsa = await runImporter(debianDsaImporter, [await readPackFile(DSA)]);
    const dla = await runImporter(debianDsaImporter, [await readPackFile(DLA)]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect([dsa.refused, dsa.problems, dla.refused, dla.problems]).toEqual([[], [], [], []]);
    // PROVENANCE.md: DSA 5,406 advisories (newest DSA-5380-1), DLA 3,534 (newest DLA-3380-1).
    expect(dsa.advisories).toHaveLength(5406);
    expect(dla.advisories).toHaveLength(3534);
    expect(dsa.advisories[0]!.id).toBe("DSA-5380-1");
    expect(dla.advisories[0]!.id).toBe("DLA-3380-1");
    expect(new Set(dsa.advisories.map((a) => a.id)).size).toBe(5406);
    expect(dla.advisories.every((a) => a.source === "debian-dla")).toBe(true);

    const apache = advisoryById(dsa, "DSA-5376-1");
    expect(apache).toMatchObject({
      source: "debian-dsa",
      published: "2023-03-20",
      summary: "apache2 - security update",
      aliases: ["CVE-2006-20001", "CVE-2022-36760", "CVE-2022-37436", "CVE-2023-25690", "CVE-2023-27522"],
      affected: [
        {
          ecosystem: "debian:11",
          package: "apache2",
          status: "affected",
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "2.4.56-1~deb11u1" }] }],
        },
      ],
    });
    expect(advisoryById(dsa, "DSA-2218-1").affected).toEqual([
      { ecosystem: "debian:5", package: "vlc", status: "not_affected", ranges: [] },
      {
        ecosystem: "debian:6",
        package: "vlc",
        status: "affected",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.1.3-1squeeze5" }] }],
      },
    ]);
    expect(advisoryById(dla, "DLA-372-1").affected).toEqual([
      {
        ecosystem: "debian:6",
        package: "virtualbox-ose",
        status: "will_not_fix",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }],
      },
    ]);
    const releases = new Set(dsa.advisories.flatMap((a) => a.affected.map((x) => x.ecosystem)));
    expect([...releases].sort()).toEqual([
      "debian:10",
      "debian:11",
      "debian:3.0",
      "debian:3.1",
      "debian:4",
      "debian:5",
      "debian:6",
      "debian:7",
      "debian:8",
      "debian:9",
    ]);
  });
});
