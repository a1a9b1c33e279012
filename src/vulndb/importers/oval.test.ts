import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decompress } from "./native-feed-common.js";
import {
  advisoryById,
  missingVulndata,
  readPackFile,
  runImporter,
  type ImportRun,
} from "./native-feed-testing.js";
import { dropZeroEpoch, ovalImporter } from "./oval.js";
import type { FeedDocument, ImportItem } from "./types.js";

const doc = (name: string, body: string | Buffer): FeedDocument => ({
  name,
  content: Buffer.isBuffer(body) ? body : Buffer.from(body),
});

/** A cut-down Ubuntu USN file: inventory, one package definition, one running-kernel definition. */
const UBUNTU = `<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:linux="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
  <generator><oval:product_name>Canonical USN OVAL Generator</oval:product_name><oval:timestamp>2024-12-24T07:42:06</oval:timestamp></generator>
  <definitions>
    <definition class="inventory" id="oval:com.ubuntu.noble:def:100" version="1">
      <metadata><title>Check that Ubuntu 24.04 LTS (noble) is installed.</title><description /></metadata>
      <criteria><criterion test_ref="oval:com.ubuntu.noble:tst:1" /></criteria>
    </definition>
    <definition id="oval:com.ubuntu.noble:def:70001000000" version="1" class="patch">
      <metadata>
        <title>USN-7000-1 -- Expat vulnerabilities</title>
        <reference source="USN" ref_id="USN-7000-1" ref_url="https://ubuntu.com/security/notices/USN-7000-1" />
        <reference source="CVE" ref_id="CVE-2024-45490" ref_url="https://ubuntu.com/security/CVE-2024-45490" />
        <description>Expat &amp; friends.</description>
        <advisory from="security@ubuntu.com">
          <severity>Medium</severity>
          <issued date="2024-09-12" />
          <cve href="https://ubuntu.com/security/CVE-2024-45490" priority="medium" cvss_score="7.5" cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H">CVE-2024-45490</cve>
        </advisory>
      </metadata>
      <criteria>
        <extend_definition definition_ref="oval:com.ubuntu.noble:def:100" applicability_check="true" />
        <criteria operator="OR">
          <criterion test_ref="oval:com.ubuntu.noble:tst:2" />
          <criterion test_ref="oval:com.ubuntu.noble:tst:3" negate="true" />
        </criteria>
      </criteria>
    </definition>
    <definition id="oval:com.ubuntu.noble:def:68173000000" version="1" class="patch">
      <metadata><title>USN-6817-3 -- Linux kernel vulnerabilities</title>
        <reference source="USN" ref_id="USN-6817-3" ref_url="https://ubuntu.com/security/notices/USN-6817-3" /></metadata>
      <criteria><criterion test_ref="oval:com.ubuntu.noble:tst:4" /></criteria>
    </definition>
  </definitions>
  <tests>
    <ind:family_test xmlns:ind="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent" id="oval:com.ubuntu.noble:tst:1" version="1" check="all"><ind:object object_ref="oval:com.ubuntu.noble:obj:9" /></ind:family_test>
    <linux:dpkginfo_test id="oval:com.ubuntu.noble:tst:2" version="1" check="at least one">
      <linux:object object_ref="oval:com.ubuntu.noble:obj:2" /><linux:state state_ref="oval:com.ubuntu.noble:ste:2" />
    </linux:dpkginfo_test>
    <linux:dpkginfo_test id="oval:com.ubuntu.noble:tst:3" version="1" check="at least one">
      <linux:object object_ref="oval:com.ubuntu.noble:obj:3" /><linux:state state_ref="oval:com.ubuntu.noble:ste:3" />
    </linux:dpkginfo_test>
    <unix:uname_test xmlns:unix="http://oval.mitre.org/XMLSchema/oval-definitions-5#unix" check="at least one" id="oval:com.ubuntu.noble:tst:4" version="1"><unix:object object_ref="oval:com.ubuntu.noble:obj:9" /></unix:uname_test>
  </tests>
  <objects>
    <linux:dpkginfo_object id="oval:com.ubuntu.noble:obj:2" version="1"><linux:name var_ref="oval:com.ubuntu.noble:var:2" var_check="at least one" /></linux:dpkginfo_object>
    <linux:dpkginfo_object id="oval:com.ubuntu.noble:obj:3" version="1"><linux:name>notme</linux:name></linux:dpkginfo_object>
  </objects>
  <states>
    <linux:dpkginfo_state id="oval:com.ubuntu.noble:ste:2" version="1"><linux:evr datatype="debian_evr_string" operation="less than">0:2.6.1-2ubuntu0.1</linux:evr></linux:dpkginfo_state>
    <linux:dpkginfo_state id="oval:com.ubuntu.noble:ste:3" version="1"><linux:evr datatype="debian_evr_string" operation="less than">1:9.9</linux:evr></linux:dpkginfo_state>
  </states>
  <variables>
    <constant_variable id="oval:com.ubuntu.noble:var:2" version="1" datatype="string"><value>expat</value><value>libexpat1</value></constant_variable>
  </variables>
</oval_definitions>
`;

const RHEL = `<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:red-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
  <definitions>
    <definition class="patch" id="oval:com.redhat.rhsa:def:20221728" version="635">
      <metadata>
        <title>RHSA-2022:1728: java-11-openjdk security update (Important)</title>
        <affected family="unix"><platform>Red Hat Enterprise Linux 9</platform></affected>
        <reference ref_id="RHSA-2022:1728" ref_url="https://access.redhat.com/errata/RHSA-2022:1728" source="RHSA" />
        <reference ref_id="CVE-2022-21426" ref_url="https://access.redhat.com/security/cve/CVE-2022-21426" source="CVE" />
        <advisory from="secalert@redhat.com">
          <severity>Important</severity>
          <issued date="2022-05-17" /><updated date="2022-05-18" />
          <cve cvss3="5.3/CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L" impact="moderate">CVE-2022-21426</cve>
        </advisory>
      </metadata>
      <criteria operator="OR">
        <criterion comment="Red Hat Enterprise Linux must be installed" test_ref="oval:com.redhat.rhsa:tst:1" />
        <criteria operator="AND">
          <criterion comment="java is earlier than 1:11.0.15" test_ref="oval:com.redhat.rhsa:tst:2" />
          <criterion comment="java is signed with Red Hat redhatrelease2 key" test_ref="oval:com.redhat.rhsa:tst:3" />
          <criterion comment="kernel version equals 0:5.14.0-70.17.1.el9_0" test_ref="oval:com.redhat.rhsa:tst:4" />
        </criteria>
      </criteria>
    </definition>
  </definitions>
  <tests>
    <red-def:rpmverifyfile_test check="none satisfy" id="oval:com.redhat.rhsa:tst:1" version="1"><red-def:object object_ref="oval:com.redhat.rhsa:obj:1" /><red-def:state state_ref="oval:com.redhat.rhsa:ste:1" /></red-def:rpmverifyfile_test>
    <red-def:rpminfo_test check="at least one" id="oval:com.redhat.rhsa:tst:2" version="1"><red-def:object object_ref="oval:com.redhat.rhsa:obj:2" /><red-def:state state_ref="oval:com.redhat.rhsa:ste:2" /></red-def:rpminfo_test>
    <red-def:rpminfo_test check="at least one" id="oval:com.redhat.rhsa:tst:3" version="1"><red-def:object object_ref="oval:com.redhat.rhsa:obj:2" /><red-def:state state_ref="oval:com.redhat.rhsa:ste:3" /></red-def:rpminfo_test>
    <red-def:rpminfo_test check="at least one" id="oval:com.redhat.rhsa:tst:4" version="1"><red-def:object object_ref="oval:com.redhat.rhsa:obj:4" /><red-def:state state_ref="oval:com.redhat.rhsa:ste:4" /></red-def:rpminfo_test>
  </tests>
  <objects>
    <red-def:rpmverifyfile_object id="oval:com.redhat.rhsa:obj:1" version="1"><red-def:name operation="pattern match" /></red-def:rpmverifyfile_object>
    <red-def:rpminfo_object id="oval:com.redhat.rhsa:obj:2" version="1"><red-def:name>java-11-openjdk</red-def:name></red-def:rpminfo_object>
    <red-def:rpminfo_object id="oval:com.redhat.rhsa:obj:4" version="1"><red-def:name>kernel</red-def:name></red-def:rpminfo_object>
  </objects>
  <states>
    <red-def:rpmverifyfile_state id="oval:com.redhat.rhsa:ste:1" version="1"><red-def:name operation="pattern match">^redhat-release</red-def:name></red-def:rpmverifyfile_state>
    <red-def:rpminfo_state id="oval:com.redhat.rhsa:ste:2" version="1"><red-def:arch datatype="string" operation="pattern match">aarch64|x86_64</red-def:arch><red-def:evr datatype="evr_string" operation="less than">1:11.0.15.0.10-1.el9_0</red-def:evr></red-def:rpminfo_state>
    <red-def:rpminfo_state id="oval:com.redhat.rhsa:ste:3" version="1"><red-def:signature_keyid operation="equals">199e2f91fd431d51</red-def:signature_keyid></red-def:rpminfo_state>
    <red-def:rpminfo_state id="oval:com.redhat.rhsa:ste:4" version="1"><red-def:evr datatype="evr_string" operation="equals">0:5.14.0-70.17.1.el9_0</red-def:evr></red-def:rpminfo_state>
  </states>
</oval_definitions>
`;

/** bzip2 of `<oval_definitions xmlns="…"/>` (made with bzip2 -9). */
const EMPTY_BZ2 = Buffer.from(
  "QlpoOTFBWSZTWcXL8g0AAAffgAAQUAOCFwAGCECv591AIABIakaDTGoD1MTCZA1CYRiZDQaDDUX6pl/g7bo89SoS8OT6SUrIc9tYiZhMjmLCoJyLlUK4ISQE7gnBbjLGB9EmL8XckU4UJDFy/INA",
  "base64",
);

const range = (fixed: string) => [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }];

describe("OVAL importer", () => {
  it("recognizes OVAL XML (plain, gzip, or bzip2 by name)", () => {
    const head = Buffer.from(UBUNTU.slice(0, 400));
    expect(ovalImporter.recognizes({ name: "com.ubuntu.noble.usn.oval.xml", head })).toBe(true);
    expect(ovalImporter.recognizes({ name: "distro/x.xml.gz", head: gzipSync(head) })).toBe(true);
    expect(ovalImporter.recognizes({ name: "rocky/org.rockylinux.rlsa-9.xml.bz2", head: EMPTY_BZ2 })).toBe(
      true,
    );
    expect(ovalImporter.recognizes({ name: "random.xml.bz2", head: EMPTY_BZ2 })).toBe(false);
    expect(ovalImporter.recognizes({ name: "pom.xml", head: Buffer.from("<project>") })).toBe(false);
    expect(ovalImporter.recognizes({ name: "x.json", head })).toBe(false);
  });

  it("lists the vendors' OVAL URLs with mirror paths", () => {
    const urls = (ovalImporter.upstream ?? []).map((u) => u.url);
    expect(urls).toContain("https://security-metadata.canonical.com/oval/com.ubuntu.noble.usn.oval.xml.bz2");
    expect(urls).toContain("https://access.redhat.com/security/data/oval/v2/RHEL9/rhel-9.oval.xml.bz2");
    expect(urls).toContain("https://dl.rockylinux.org/pub/oval/org.rockylinux.rlsa-9.xml.bz2");
    expect(urls).toContain(
      "https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main/azurelinux-3.0-oval.xml",
    );
    const mirrors = (ovalImporter.upstream ?? []).map((u) => u.mirrorPath);
    expect(new Set(mirrors).size).toBe(mirrors.length);
  });

  it("drops only a zero epoch", () => {
    expect(dropZeroEpoch("0:2.6.1-2ubuntu0.1")).toBe("2.6.1-2ubuntu0.1");
    expect(dropZeroEpoch("1:11.0.15.0.10-1.el9_0")).toBe("1:11.0.15.0.10-1.el9_0");
  });

  it("maps a Ubuntu USN onto its binaries, skipping negated tests and running-kernel definitions", async () => {
    const run = await runImporter(ovalImporter, [doc("com.ubuntu.noble.usn.oval.xml", UBUNTU)]);
    expect(run.problems).toEqual([]);
    expect(run.advisories).toHaveLength(1);
    expect(run.skipped).toEqual([
      {
        document: "com.ubuntu.noble.usn.oval.xml",
        reason: "oval:com.ubuntu.noble:def:68173000000: no package test (running-kernel checks only)",
      },
    ]);
    const binaries = ["expat", "libexpat1"];
    expect(run.advisories[0]).toEqual({
      id: "USN-7000-1",
      source: "ubuntu-oval",
      aliases: ["CVE-2024-45490"],
      summary: "USN-7000-1 -- Expat vulnerabilities",
      details: "Expat & friends.",
      severity: "Medium",
      published: "2024-09-12",
      references: [
        { type: "ADVISORY", url: "https://ubuntu.com/security/notices/USN-7000-1" },
        { type: "WEB", url: "https://ubuntu.com/security/CVE-2024-45490" },
      ],
      cvss: [
        {
          type: "CVSS_V3",
          vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
          score: 7.5,
          source: "ubuntu-oval",
        },
      ],
      affected: binaries.map((b) => ({
        ecosystem: "ubuntu:24.04",
        package: b,
        binaries,
        status: "affected",
        severity: "Medium",
        ranges: range("2.6.1-2ubuntu0.1"),
      })),
    });
  });

  it("maps a Red Hat RHSA: less-than states only, epoch kept, signature and kpatch tests ignored", async () => {
    const run = await runImporter(ovalImporter, [doc("com.redhat.rhsa-RHEL9.xml", RHEL)]);
    expect(run.problems).toEqual([]);
    expect(advisoryById(run, "RHSA-2022:1728")).toMatchObject({
      source: "redhat-oval",
      aliases: ["CVE-2022-21426"],
      severity: "Important",
      published: "2022-05-17",
      modified: "2022-05-18",
      cvss: [{ type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", score: 5.3 }],
      affected: [
        {
          ecosystem: "rhel:9",
          package: "java-11-openjdk",
          binaries: ["java-11-openjdk"],
          status: "affected",
          severity: "Important",
          ranges: range("1:11.0.15.0.10-1.el9_0"),
        },
      ],
    });
  });

  it("reads bzip2 files", async () => {
    expect(decompress(EMPTY_BZ2).toString()).toMatch(/^<oval_definitions /);
    const run = await runImporter(ovalImporter, [doc("x/rhel-9.oval.xml.bz2", EMPTY_BZ2)]);
    expect(run.problems).toEqual([
      {
        feed: "oval",
        document: "x/rhel-9.oval.xml.bz2",
        reason: expect.stringMatching(/unknown OVAL vendor/),
      },
    ]);
  });

  it("reports broken documents with feed and document, and goes on", async () => {
    const cut = UBUNTU.indexOf("</definitions>");
    const run = await runImporter(ovalImporter, [
      doc("a/com.ubuntu.noble.usn.oval.xml", UBUNTU.slice(0, cut)),
      doc("b/com.ubuntu.noble.usn.oval.xml.gz", gzipSync(UBUNTU).subarray(0, 300)),
      doc("c/com.ubuntu.noble.usn.oval.xml", UBUNTU.replace("</title>", "</titel>")),
      doc(
        "d/com.ubuntu.noble.usn.oval.xml",
        UBUNTU.replace('state_ref="oval:com.ubuntu.noble:ste:2"', 'state_ref="nope"'),
      ),
      doc(
        "e/rhel.xml",
        RHEL.replace(/Red Hat Enterprise Linux 9/, "Something").replace("^redhat-release", "^x"),
      ),
      doc("f/com.redhat.rhsa-RHEL9.xml", RHEL),
    ]);
    expect(run.problems.map((p) => [p.feed, p.document])).toEqual([
      ["oval", "a/com.ubuntu.noble.usn.oval.xml"],
      ["oval", "b/com.ubuntu.noble.usn.oval.xml.gz"],
      ["oval", "c/com.ubuntu.noble.usn.oval.xml"],
      ["oval", "d/com.ubuntu.noble.usn.oval.xml"],
      ["oval", "e/rhel.xml"],
    ]);
    expect(run.problems[0]!.reason).toMatch(/invalid XML/);
    expect(run.problems[1]!.reason).toMatch(/unreadable document/);
    expect(run.problems[2]!.reason).toMatch(/invalid XML/);
    expect(run.problems[3]!.reason).toBe(
      "oval:com.ubuntu.noble:def:70001000000: references missing from the file: nope",
    );
    expect(run.problems[4]!.reason).toBe("cannot tell which redhat release this file covers");
    expect(run.advisories.map((a) => a.id)).toEqual(["RHSA-2022:1728"]);
  });

  const FILES = {
    noble: "distro/ubuntu/com.ubuntu.noble.usn.oval.xml.gz",
    jammy: "distro/ubuntu/com.ubuntu.jammy.usn.oval.xml.gz",
    rhel: "distro/rhel-family/com.redhat.rhsa-RHEL9.xml.gz",
    rocky: "distro/rhel-family/org.rockylinux.rlsa-9.xml.gz",
    azure: "distro/azurelinux/azurelinux-3.0-oval.xml.gz",
  };
  const load = async (rel: string): Promise<ImportRun> => {
    const started = Date.now();
    const run = await runImporter(ovalImporter, [await readPackFile(rel)]);
    // Whole files in seconds at most (about 0.3-0.5 s each here).
    expect(Date.now() - started).toBeLessThan(5000);
    expect(run.refused).toEqual([]);
    return run;
  };
  const missing =
    Object.values(FILES)
      .map(missingVulndata)
      .find((m) => m !== null) ?? null;

  describe.skipIf(missing !== null)(`real OVAL files ${missing ?? ""}`, () => {
    it("Ubuntu noble and jammy: one advisory per USN with package tests", async () => {
      const noble = await load(FILES.noble);
      expect(noble.problems).toEqual([]);
      // PROVENANCE.md: 260 patch definitions; 53 test only the running kernel.
      expect(noble.advisories).toHaveLength(207);
      expect(noble.skipped).toHaveLength(53);
      expect(noble.skipped[0]!.reason).toMatch(/running-kernel checks only/);
      expect(new Set(noble.advisories.flatMap((a) => a.affected.map((x) => x.ecosystem)))).toEqual(
        new Set(["ubuntu:24.04"]),
      );
      const expat = advisoryById(noble, "USN-7000-1");
      expect(expat.aliases).toEqual(["CVE-2024-45490", "CVE-2024-45491", "CVE-2024-45492"]);
      expect(expat.severity).toBe("Medium");
      expect(expat.cvss?.map((c) => c.score)).toEqual([7.5, 9.8]);
      expect(expat.affected.map((x) => [x.package, x.ranges, x.binaries])).toEqual(
        ["expat", "libexpat1", "libexpat1-dev"].map((b) => [
          b,
          range("2.6.1-2ubuntu0.1"),
          ["expat", "libexpat1", "libexpat1-dev"],
        ]),
      );
      expect(noble.advisories.some((a) => a.id === "USN-6817-3")).toBe(false); // kernel only

      const jammy = await load(FILES.jammy);
      expect(jammy.problems).toEqual([]);
      expect(jammy.advisories).toHaveLength(473); // of 624 patch definitions
      expect(jammy.skipped).toHaveLength(151);
      expect(new Set(jammy.advisories.flatMap((a) => a.affected.map((x) => x.ecosystem)))).toEqual(
        new Set(["ubuntu:22.04"]),
      );
      expect(jammy.advisories.every((a) => a.source === "ubuntu-oval" && a.affected.length > 0)).toBe(true);
    });

    it("Red Hat RHEL 9: every patch definition, fixed EVRs with epochs", async () => {
      const rhel = await load(FILES.rhel);
      expect(rhel.problems).toEqual([]);
      expect(rhel.advisories).toHaveLength(222);
      const java = advisoryById(rhel, "RHSA-2022:1728");
      expect(java).toMatchObject({
        source: "redhat-oval",
        severity: "Important",
        published: "2022-05-17",
        aliases: ["CVE-2022-21426", "CVE-2022-21434", "CVE-2022-21443", "CVE-2022-21476", "CVE-2022-21496"],
      });
      expect(java.affected).toHaveLength(23);
      expect(java.affected[0]).toEqual({
        ecosystem: "rhel:9",
        package: "java-11-openjdk",
        binaries: ["java-11-openjdk"],
        status: "affected",
        severity: "Important",
        ranges: range("1:11.0.15.0.10-1.el9_0"),
      });
      // Bug-fix advisories that fix a CVE are patch definitions too.
      expect(advisoryById(rhel, "RHBA-2022:5749").aliases).toEqual(["CVE-2022-1650"]);
      expect(new Set(rhel.advisories.map((a) => a.severity))).toEqual(
        new Set(["Critical", "Important", "Moderate", "Low"]),
      );
    });

    it("Rocky 9: CVEs from the description; a dangling test reference is a problem, the rest imports", async () => {
      const rocky = await load(FILES.rocky);
      expect(rocky.advisories).toHaveLength(175);
      expect(rocky.problems).toEqual([
        {
          feed: "oval",
          document: expect.stringContaining("org.rockylinux.rlsa-9.xml.gz"),
          reason:
            "oval:org.rockylinux.rlsa:def:20233661: references missing from the file: oval:org.rockylinux.rlsa:tst:unk",
        },
      ]);
      const gzip = advisoryById(rocky, "RLSA-2022:4582");
      expect(gzip).toMatchObject({ source: "rocky-oval", aliases: ["CVE-2022-1271"], severity: "Important" });
      expect(gzip.affected.map((x) => [x.ecosystem, x.package, x.ranges])).toEqual([
        ["rocky:9", "gzip", range("1.10-9.el9_0")],
        ["rocky:9", "gzip-debuginfo", range("1.10-9.el9_0")],
        ["rocky:9", "gzip-debugsource", range("1.10-9.el9_0")],
      ]);
      expect(rocky.advisories.every((a) => a.aliases.length > 0)).toBe(true);
    });

    it("Azure Linux 3.0: vulnerability definitions grouped per CVE", async () => {
      const azure = await load(FILES.azure);
      expect(azure.problems).toEqual([]);
      // PROVENANCE.md: 1,222 definitions (CVE × package) over 1,005 CVEs.
      expect(azure.advisories).toHaveLength(1005);
      expect(azure.advisories.reduce((n, a) => n + a.affected.length, 0)).toBe(1222);
      expect(advisoryById(azure, "CVE-2024-47191")).toMatchObject({
        source: "azurelinux-oval",
        severity: "High",
        published: "2024-07-23T22:05:39Z",
        affected: [
          {
            ecosystem: "azurelinux:3.0",
            package: "oath-toolkit",
            status: "affected",
            severity: "High",
            ranges: range("2.6.7-3.azl3"),
          },
        ],
      });
      const zlibLike = advisoryById(azure, "CVE-2023-45853").affected;
      expect(zlibLike).toContainEqual({
        ecosystem: "azurelinux:3.0",
        package: "cloud-hypervisor",
        status: "not_affected",
        severity: "Critical",
        ranges: [],
      });
    });
  });
});

describe("OVAL importer: properties", () => {
  /** Cuts, insertions and replacements anywhere in a real-shaped document. */
  const mutated = (base: string) =>
    fc
      .array(
        fc.tuple(
          fc.nat({ max: base.length }),
          fc.nat({ max: 40 }),
          fc.oneof(
            fc.constantFrom("<", ">", "</criteria>", "<criteria>", '"', "&amp;", ""),
            fc.string({ maxLength: 6 }),
          ),
        ),
        { minLength: 1, maxLength: 6 },
      )
      .map((edits) => {
        let s = base;
        for (const [at, del, ins] of edits) s = s.slice(0, at) + ins + s.slice(at + del);
        return s;
      });

  it("a damaged document ends in advisories or named problems, never an internal error", () => {
    const known =
      /^(invalid XML at line \d+: |not an OVAL document|unknown OVAL vendor|cannot tell which|oval:[^ ]+: references missing)/;
    fc.assert(
      fc.property(
        fc.oneof(mutated(UBUNTU), mutated(RHEL), fc.string({ unit: "binary", maxLength: 300 })),
        (xml) => {
          const items = [
            ...(ovalImporter.parse(doc("x/com.ubuntu.noble.usn.oval.xml", xml)) as Iterable<ImportItem>),
          ];
          for (const item of items) if (item.kind === "problem") expect(item.problem.reason).toMatch(known);
        },
      ),
      { numRuns: 300 },
    );
  });
});
