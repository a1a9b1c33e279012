import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { debianEcosystem } from "./debian-releases.js";
import { debianTrackerImporter, trackerSeverity } from "./debian-tracker.js";
import { advisoryById, missingVulndata, readPackTarGz, runImporter } from "./native-feed-testing.js";
import type { FeedDocument } from "./types.js";

const SAMPLES = "samples/anchore-vunnel-format-samples.tar.gz";
const doc = (name: string, body: string | Buffer): FeedDocument => ({
  name,
  content: Buffer.isBuffer(body) ? body : Buffer.from(body),
});

const release = (r: Record<string, unknown>) => ({ repositories: { x: "1" }, ...r });
const export_ = {
  openssl: {
    "CVE-2024-0001": {
      description: "A flaw.",
      scope: "remote",
      debianbug: 1060000,
      releases: {
        bullseye: release({ status: "resolved", fixed_version: "1.1.1w-0+deb11u2", urgency: "high**" }),
        bookworm: release({ status: "open", urgency: "low", nodsa: "Minor issue", nodsa_reason: "ignored" }),
        trixie: release({
          status: "open",
          urgency: "medium",
          nodsa: "Minor issue",
          nodsa_reason: "postponed",
        }),
        forky: release({ status: "open", urgency: "medium", nodsa: "Minor issue", nodsa_reason: "" }),
        sid: release({ status: "undetermined", urgency: "not yet assigned" }),
        buster: release({ status: "open", urgency: "end-of-life" }),
        hurd: release({ status: "open", urgency: "low" }),
      },
    },
    "TEMP-0000000-ABCDEF": {
      releases: { bookworm: release({ status: "resolved", fixed_version: "0", urgency: "unimportant" }) },
    },
  },
  curl: {
    "CVE-2024-0001": {
      description: "A flaw.",
      releases: {
        bookworm: release({ status: "resolved", fixed_version: "7.88.1-10+deb12u5", urgency: "medium" }),
      },
    },
    "CVE-2024-0002": { releases: [] },
  },
};

describe("debian tracker JSON importer", () => {
  it("maps codenames to debian:<VERSION_ID>", () => {
    expect(["bullseye", "bookworm", "trixie", "forky", "sid", "jessie"].map(debianEcosystem)).toEqual([
      "debian:11",
      "debian:12",
      "debian:13",
      "debian:14",
      "debian:sid",
      "debian:8",
    ]);
    expect(debianEcosystem("constructor")).toBeUndefined();
    expect(debianEcosystem("hurd")).toBeUndefined();
  });

  it("keeps Debian's urgency words as published (the NVD marker too)", () => {
    expect(
      ["high**", "low", "unimportant", "not yet assigned", "end-of-life", undefined].map(trackerSeverity),
    ).toEqual(["high**", "low", "unimportant", undefined, undefined, undefined]);
  });

  it("recognizes the export by its shape", () => {
    const head = Buffer.from(JSON.stringify(export_).slice(0, 200));
    expect(debianTrackerImporter.recognizes({ name: "debian/tracker.json", head })).toBe(true);
    expect(
      debianTrackerImporter.recognizes({
        name: "https://security-tracker.debian.org/tracker/data/json",
        head,
      }),
    ).toBe(true);
    expect(debianTrackerImporter.recognizes({ name: "debian/tracker.json.gz", head: gzipSync(head) })).toBe(
      true,
    );
    expect(
      debianTrackerImporter.recognizes({ name: "v3.21/main.json", head: Buffer.from('{"apkurl": "x"}') }),
    ).toBe(false);
    expect(
      debianTrackerImporter.recognizes({ name: "debian/tracker.json", head: Buffer.from('{"a": {"b": 1}}') }),
    ).toBe(false);
    expect(debianTrackerImporter.upstream).toEqual([
      { url: "https://security-tracker.debian.org/tracker/data/json", mirrorPath: "debian/tracker.json" },
    ]);
  });

  it("maps every tracker status and groups packages under one advisory per CVE", async () => {
    const run = await runImporter(debianTrackerImporter, [
      doc("debian/tracker.json", JSON.stringify(export_)),
    ]);
    expect(run.problems).toEqual([
      {
        feed: "debian-tracker",
        document: "debian/tracker.json",
        reason: 'unknown release codename "hurd": its entries were skipped',
      },
    ]);
    expect(run.advisories.map((a) => a.id)).toEqual([
      "CVE-2024-0001",
      "TEMP-0000000-ABCDEF",
      "CVE-2024-0002",
    ]);
    const a = advisoryById(run, "CVE-2024-0001");
    expect(a.source).toBe("debian-tracker");
    expect(a.details).toBe("A flaw.");
    expect(a.references).toEqual([
      { type: "ADVISORY", url: "https://security-tracker.debian.org/tracker/CVE-2024-0001" },
      { type: "REPORT", url: "https://bugs.debian.org/1060000" },
    ]);
    const noFix = [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }];
    expect(a.affected).toEqual([
      {
        ecosystem: "debian:11",
        package: "openssl",
        status: "affected",
        severity: "high**",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.1.1w-0+deb11u2" }] }],
      },
      { ecosystem: "debian:12", package: "openssl", status: "will_not_fix", severity: "low", ranges: noFix },
      {
        ecosystem: "debian:13",
        package: "openssl",
        status: "will_not_fix",
        severity: "medium",
        ranges: noFix,
      },
      // no-dsa without ignored/postponed: a fix may still come in a point release.
      { ecosystem: "debian:14", package: "openssl", status: "affected", severity: "medium", ranges: noFix },
      { ecosystem: "debian:sid", package: "openssl", status: "undetermined", ranges: noFix },
      { ecosystem: "debian:10", package: "openssl", status: "will_not_fix", ranges: noFix },
      {
        ecosystem: "debian:12",
        package: "curl",
        status: "affected",
        severity: "medium",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "7.88.1-10+deb12u5" }] }],
      },
    ]);
    expect(advisoryById(run, "TEMP-0000000-ABCDEF").affected).toEqual([
      {
        ecosystem: "debian:12",
        package: "openssl",
        status: "not_affected",
        severity: "unimportant",
        ranges: [],
      },
    ]);
    expect(advisoryById(run, "CVE-2024-0002").affected).toEqual([]);
  });

  it("reports broken documents and entries with feed and document, and goes on", async () => {
    const text = JSON.stringify(export_);
    const run = await runImporter(debianTrackerImporter, [
      doc("a/tracker.json", text.slice(0, text.length / 2)),
      doc("b/tracker.json", gzipSync(Buffer.from(text)).subarray(0, 100)),
      doc(
        "c/tracker.json",
        JSON.stringify({ zlib: { "CVE-2024-1": { releases: { bookworm: "x" } }, "CVE-2024-2": 3 }, x: [] }),
      ),
      doc("d/tracker.json", text),
    ]);
    expect(run.problems.map((p) => p.document)).toEqual([
      "a/tracker.json",
      "b/tracker.json",
      "c/tracker.json",
      "c/tracker.json",
      "c/tracker.json",
      "d/tracker.json",
    ]);
    expect(run.problems.every((p) => p.feed === "debian-tracker")).toBe(true);
    expect(run.problems[0]!.reason).toMatch(/invalid JSON/);
    expect(run.problems[1]!.reason).toMatch(/unreadable document/);
    expect(run.problems.slice(2, 5).map((p) => p.reason)).toEqual([
      "zlib CVE-2024-1 bookworm: release entry is not an object",
      "zlib CVE-2024-2: no releases map",
      "x: not a map of vulnerabilities",
    ]);
    expect(run.advisories.map((a) => a.id)).toEqual([
      "CVE-2024-1",
      "CVE-2024-0001",
      "TEMP-0000000-ABCDEF",
      "CVE-2024-0002",
    ]);
  });

  const missing = missingVulndata(SAMPLES);
  it.skipIf(missing !== null)(
    `imports the real tracker excerpt in the samples ${missing ?? ""}`,
    async () => {
      const docs = (await readPackTarGz(SAMPLES)).filter((d) =>
        d.name.endsWith("/debian/test-fixtures/input/debian.json"),
      );
      expect(docs).toHaveLength(1);
      const run = await runImporter(debianTrackerImporter, docs);
      expect(run.refused).toEqual([]);
      // stretch/jessie/buster/bullseye/bookworm/trixie/sid are all known codenames.
      expect(run.problems).toEqual([]);
      expect(run.advisories).toHaveLength(7);
      const proto = advisoryById(run, "CVE-2007-2383");
      expect(proto.affected.map((x) => [x.ecosystem, x.status, x.severity])).toEqual([
        ["debian:9", "not_affected", "unimportant"],
        ["debian:8", "not_affected", "unimportant"],
        ["debian:10", "not_affected", "unimportant"],
        ["debian:sid", "not_affected", "unimportant"],
      ]);
      const txt2man = advisoryById(run, "CVE-2013-1444");
      expect(txt2man.affected[0]).toEqual({
        ecosystem: "debian:9",
        package: "txt2man",
        status: "affected",
        severity: "low**",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.5.5-4.1" }] }],
      });
      // "releases": [] in the export is an empty map, not an error.
      expect(advisoryById(run, "CVE-2022-0358").affected).toEqual([]);
      const eol = run.advisories.flatMap((a) => a.affected).filter((x) => x.status === "will_not_fix");
      expect(eol.map((x) => x.ecosystem).sort()).toEqual(["debian:10", "debian:9"]);
    },
  );
});
