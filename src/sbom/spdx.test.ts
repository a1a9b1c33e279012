import { describe, expect, it } from "vitest";
import type { ImageInventory } from "../image/types.js";
import {
  buildSpdxDocument,
  IMAGE_SPDXID,
  OS_SPDXID,
  spdxIdString,
  toSpdxJson,
  type SpdxDocument,
} from "./spdx.js";
import { validateSpdx } from "./spdx-validate.js";
import { emptyInventory, MANIFEST_DIGEST, sampleInventory } from "./testdata/fixtures.js";

const FIXED = { now: new Date("2024-05-06T07:08:09.123Z"), uuid: "3f2504e0-4f89-41d3-9a0c-0305e82c3301" };

const doc = (json: string) => JSON.parse(json) as SpdxDocument;
const byName = (d: SpdxDocument, name: string) => d.packages.filter((p) => p.name === name);

describe("SPDX export", () => {
  it("produces documents that pass the SPDX 2.3 structural checks", () => {
    expect(validateSpdx(toSpdxJson(sampleInventory(), FIXED))).toEqual([]);
    expect(validateSpdx(toSpdxJson(emptyInventory()))).toEqual([]);
  });

  it("fills the document header", () => {
    const d = doc(toSpdxJson(sampleInventory(), FIXED));
    expect(d).toMatchObject({
      spdxVersion: "SPDX-2.3",
      dataLicense: "CC0-1.0",
      SPDXID: "SPDXRef-DOCUMENT",
      name: "registry.example.com:5000/team/app:1.2",
      documentNamespace: `https://spdx.org/spdxdocs/registry.example.com-5000-team-app-1.2-${FIXED.uuid}`,
    });
    // SPDX dates have no fractional seconds.
    expect(d.creationInfo.created).toBe("2024-05-06T07:08:09Z");
    expect(d.creationInfo.creators).toEqual(["Tool: drydock-0.1.0"]);
    expect(d.creationInfo.comment).toBe(
      "Drydock could not read 1 file(s); the inventory may be incomplete:\n" +
        `java-archive: /app/broken.jar (layer sha256:${"b".repeat(64)}): truncated zip central directory`,
    );
    expect(doc(toSpdxJson(emptyInventory())).creationInfo.comment).toBeUndefined();
  });

  it("describes the image package, which contains the OS and every package", () => {
    const d = doc(toSpdxJson(sampleInventory(), FIXED));
    const [image, os] = d.packages;
    expect(image).toEqual({
      SPDXID: IMAGE_SPDXID,
      name: "registry.example.com:5000/team/app:1.2",
      versionInfo: MANIFEST_DIGEST,
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      primaryPackagePurpose: "CONTAINER",
      checksums: [{ algorithm: "SHA256", checksumValue: "1".repeat(64) }],
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceType: "purl",
          referenceLocator: `pkg:oci/app@${MANIFEST_DIGEST}?arch=arm64&repository_url=registry.example.com:5000%2Fteam%2Fapp&tag=1.2`,
        },
      ],
      annotations: [
        {
          annotationDate: "2024-05-06T07:08:09Z",
          annotationType: "OTHER",
          annotator: "Tool: drydock-0.1.0",
          comment: expect.stringContaining(
            "drydock:image:layer:1:diffID=sha256:" + "b".repeat(64),
          ) as unknown,
        },
      ],
    });
    expect(os).toMatchObject({
      SPDXID: OS_SPDXID,
      name: "debian",
      versionInfo: "12",
      primaryPackagePurpose: "OPERATING-SYSTEM",
      description: "Debian GNU/Linux 12 (bookworm)",
    });

    const [describes, ...contains] = d.relationships;
    expect(describes).toEqual({
      spdxElementId: "SPDXRef-DOCUMENT",
      relationshipType: "DESCRIBES",
      relatedSpdxElement: IMAGE_SPDXID,
    });
    expect(contains.map((r) => [r.spdxElementId, r.relationshipType])).toEqual(
      d.packages.slice(1).map(() => [IMAGE_SPDXID, "CONTAINS"]),
    );
    expect(contains.map((r) => r.relatedSpdxElement)).toEqual(d.packages.slice(1).map((p) => p.SPDXID));
  });

  it("writes each package with purl, source package and drydock properties", () => {
    const d = doc(toSpdxJson(sampleInventory(), FIXED));
    const [ssl] = byName(d, "libssl3");
    expect(ssl).toMatchObject({
      versionInfo: "3.0.11-1~deb12u2",
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      sourceInfo: "built package from: openssl 3.0.11-1~deb12u2",
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceType: "purl",
          referenceLocator: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12",
        },
      ],
    });
    expect(ssl!.annotations![0]!.comment.split("\n")).toEqual([
      `drydock:layer:diffID=sha256:${"a".repeat(64)}`,
      "drydock:location:path=/var/lib/dpkg/status",
      "drydock:package:sourceName=openssl",
      "drydock:package:sourceVersion=3.0.11-1~deb12u2",
      "drydock:package:arch=arm64",
    ]);
    const [log4j] = byName(d, "org.apache.logging.log4j:log4j-core");
    expect(log4j!.annotations![0]!.comment).toContain(
      "drydock:location:archivePath=BOOT-INF/lib/log4j-core-2.14.1.jar",
    );
    const [babel] = byName(d, "@babel/core");
    expect(babel!.annotations![0]!.comment).toContain("drydock:package:development=true");
  });

  it("makes valid, unique, stable SPDXIDs from names SPDX ids cannot carry", () => {
    const d = doc(toSpdxJson(sampleInventory(), FIXED));
    const ids = d.packages.map((p) => p.SPDXID);
    for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(byName(d, "@babel/core")[0]!.SPDXID).toMatch(/^SPDXRef-Package-npm-babel-core-[0-9a-f]{16}$/);
    expect(byName(d, "libstdc++6")[0]!.SPDXID).toMatch(/^SPDXRef-Package-deb-libstdc-6-[0-9a-f]{16}$/);
    expect(byName(d, "zope_interface")[0]!.SPDXID).toMatch(
      /^SPDXRef-Package-pypi-zope-interface-[0-9a-f]{16}$/,
    );
    // Same package at two paths: two packages, two ids.
    expect(byName(d, "lodash").map((p) => p.SPDXID)).toHaveLength(2);
    expect(new Set(byName(d, "lodash").map((p) => p.SPDXID)).size).toBe(2);
    // Stable: another scan of the same image names the packages the same way.
    expect(doc(toSpdxJson(sampleInventory())).packages.map((p) => p.SPDXID)).toEqual(ids);
  });

  it("keeps ids even for names with nothing SPDX ids can carry", () => {
    const inv = emptyInventory();
    inv.packages = [0, 1].map((i) => ({
      name: "@@@",
      version: "1",
      ecosystem: "npm",
      purl: "pkg:npm/%40%40%40@1",
      path: `/p${i}/package.json`,
    }));
    const json = toSpdxJson(inv, FIXED);
    expect(validateSpdx(json)).toEqual([]);
    expect(
      doc(json)
        .packages.slice(1)
        .map((p) => p.SPDXID),
    ).toEqual([
      expect.stringMatching(/^SPDXRef-Package-npm-[0-9a-f]{16}$/),
      expect.stringMatching(/^SPDXRef-Package-npm-[0-9a-f]{16}$/),
    ]);
    expect(spdxIdString("a_b~c+d@e/f:g")).toBe("a-b-c-d-e-f-g");
    expect(spdxIdString("x".repeat(100))).toHaveLength(64);
  });

  it("declares licenses as SPDX expressions, with LicenseRefs for free text", () => {
    const d = doc(toSpdxJson(sampleInventory(), FIXED));
    const declared = (name: string) => byName(d, name)[0]!.licenseDeclared;
    expect(declared("libssl3")).toBe("Apache-2.0 AND LicenseRef-Artistic AND LicenseRef-GPL-1");
    expect(declared("dual")).toBe("MIT OR Apache-2.0");
    expect(declared("org.apache.logging.log4j:log4j-core")).toBe("Apache-2.0");
    expect(declared("weird-licenses")).toBe(
      "(MIT OR Apache-2.0) AND LicenseRef-BSD-like-see-LICENSE AND LicenseRef-GPL-2",
    );
    expect(declared("bash")).toBe("LicenseRef-GPLv3");
    expect(declared("libstdc++6")).toBe("NOASSERTION");
    expect(declared("zope_interface")).toBe("NOASSERTION");
    expect(d.hasExtractedLicensingInfos!.map((i) => [i.licenseId, i.extractedText])).toEqual([
      ["LicenseRef-Artistic", "Artistic"],
      ["LicenseRef-GPL-1", "GPL-1+"],
      ["LicenseRef-BSD-like-see-LICENSE", "BSD-like (see LICENSE)"],
      ["LicenseRef-GPL-2", "GPL 2"],
      ["LicenseRef-GPLv3", "GPLv3+"],
    ]);
  });

  it("never lets two license texts share a LicenseRef, nor take one a package declared", () => {
    const inv: ImageInventory = emptyInventory();
    const pkg = (name: string, licenses: string[]) => ({
      name,
      version: "1",
      ecosystem: "npm" as const,
      purl: `pkg:npm/${name}@1`,
      path: `/${name}/package.json`,
      licenses,
    });
    inv.packages = [pkg("a", ["GPL 2"]), pkg("b", ["GPL/2"]), pkg("c", ["MIT OR LicenseRef-GPL-2"])];
    const json = toSpdxJson(inv, FIXED);
    expect(validateSpdx(json)).toEqual([]);
    const d = doc(json);
    expect(d.packages.slice(1).map((p) => p.licenseDeclared)).toEqual([
      "LicenseRef-GPL-2-2",
      "LicenseRef-GPL-2-3",
      "MIT OR LicenseRef-GPL-2",
    ]);
    expect(d.hasExtractedLicensingInfos!.map((i) => [i.licenseId, i.extractedText])).toEqual([
      ["LicenseRef-GPL-2", "LicenseRef-GPL-2"],
      ["LicenseRef-GPL-2-2", "GPL 2"],
      ["LicenseRef-GPL-2-3", "GPL/2"],
    ]);
  });

  it("is deterministic: same inventory and options, same bytes, whatever the package order", () => {
    const a = toSpdxJson(sampleInventory(), FIXED);
    const shuffled = sampleInventory();
    shuffled.packages.reverse();
    expect(toSpdxJson(shuffled, FIXED)).toBe(a);
  });

  it("differs between runs only in namespace and creation time by default", () => {
    const strip = (json: string) => {
      const { documentNamespace: _n, creationInfo, ...rest } = doc(json);
      const { created: _c, ...info } = creationInfo;
      return JSON.stringify({ ...rest, creationInfo: info }).replace(/"annotationDate":"[^"]+"/g, "");
    };
    const a = toSpdxJson(sampleInventory());
    const b = toSpdxJson(sampleInventory());
    expect(doc(a).documentNamespace).not.toBe(doc(b).documentNamespace);
    expect(strip(a)).toBe(strip(b));
  });
});

describe("validateSpdx", () => {
  const valid = () => buildSpdxDocument(sampleInventory(), FIXED);
  const check = (d: unknown) => validateSpdx(JSON.stringify(d));

  it("rejects what the SPDX 2.3 schema rejects", () => {
    expect(validateSpdx("{")).toEqual([expect.stringMatching(/^not JSON/)]);
    const { dataLicense: _d, ...noLicense } = valid();
    expect(check(noLicense)).toEqual([expect.stringMatching(/^dataLicense:/)]);
    const badId = valid();
    badId.packages[2]!.SPDXID = "SPDXRef-libstdc++6";
    expect(check(badId)).toEqual([expect.stringMatching(/^packages\.2\.SPDXID:/)]);
    const badDate = valid();
    badDate.creationInfo.created = "2024-05-06T07:08:09.123Z";
    expect(check(badDate)).toEqual([expect.stringMatching(/^creationInfo\.created:/)]);
    const extra = { ...valid(), documentDescribes: [IMAGE_SPDXID] };
    expect(check(extra)).toEqual([expect.stringMatching(/documentDescribes/)]);
    const noCreators = valid();
    noCreators.creationInfo.creators = [];
    expect(check(noCreators)).toEqual([expect.stringMatching(/^creationInfo\.creators:/)]);
  });

  it("rejects what the SPDX 2.3 spec forbids beyond the schema", () => {
    const dup = valid();
    dup.packages[3]!.SPDXID = dup.packages[2]!.SPDXID;
    expect(check(dup)).toContain(`duplicate SPDXID ${dup.packages[2]!.SPDXID}`);

    const dangling = valid();
    dangling.relationships.push({
      spdxElementId: IMAGE_SPDXID,
      relationshipType: "CONTAINS",
      relatedSpdxElement: "SPDXRef-nowhere",
    });
    expect(check(dangling)).toEqual(["relationship CONTAINS refers to unknown element SPDXRef-nowhere"]);

    const lower = valid();
    lower.packages[2]!.licenseDeclared = "MIT or Apache-2.0";
    expect(check(lower)).toEqual([expect.stringMatching(/operator or must be upper case/)]);

    const undefinedRef = valid();
    undefinedRef.packages[2]!.licenseDeclared = "LicenseRef-unknown";
    expect(check(undefinedRef)).toEqual([
      expect.stringMatching(/LicenseRef-unknown is used but not defined/),
    ]);

    const notExpression = valid();
    notExpression.packages[2]!.licenseDeclared = "GPLv2+";
    expect(check(notExpression)).toEqual([expect.stringMatching(/not an SPDX license expression/)]);

    const badNamespace = valid();
    badNamespace.documentNamespace = "https://example.com/doc#1";
    expect(check(badNamespace)).toEqual(["documentNamespace must not contain '#'"]);

    const noDescribes = valid();
    noDescribes.relationships.shift();
    expect(check(noDescribes)).toEqual(["the document DESCRIBES no element"]);
  });
});
