import { Models } from "@cyclonedx/cyclonedx-library";
import { describe, expect, it } from "vitest";
import { cyclonedxLicenses, toCycloneDxJson, validateCycloneDx } from "./cyclonedx.js";
import { emptyInventory, MANIFEST_DIGEST, sampleInventory } from "./testdata/fixtures.js";

const FIXED = { now: new Date("2024-05-06T07:08:09Z"), uuid: "3f2504e0-4f89-41d3-9a0c-0305e82c3301" };

interface CdxProperty {
  name: string;
  value: string;
}
interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  "bom-ref"?: string;
  purl?: string;
  description?: string;
  licenses?: unknown[];
  hashes?: { alg: string; content: string }[];
  properties?: CdxProperty[];
}
interface CdxBom {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  dependencies?: unknown;
  metadata: {
    timestamp: string;
    tools: { components: CdxComponent[] };
    component: CdxComponent;
    properties?: CdxProperty[];
  };
  components: CdxComponent[];
}

const bom = (json: string) => JSON.parse(json) as CdxBom;
const props = (c: CdxComponent) => (c.properties ?? []).map((p) => [p.name, p.value]);

describe("CycloneDX export", () => {
  it("passes the library's strict CycloneDX 1.6 JSON schema validation", async () => {
    expect(await validateCycloneDx(toCycloneDxJson(sampleInventory(), FIXED))).toBeNull();
    expect(await validateCycloneDx(toCycloneDxJson(emptyInventory()))).toBeNull();
  });

  it("writes CycloneDX 1.4 on request (Inspector2's SBOM exports), valid against the 1.4 schema", async () => {
    const json = toCycloneDxJson(sampleInventory(), {
      ...FIXED,
      cyclonedxVersion: "1.4",
      metadataProperties: [["imageId", MANIFEST_DIGEST]],
    });
    const doc = JSON.parse(json) as CdxBom & { metadata: { tools: unknown } };
    expect(doc.specVersion).toBe("1.4");
    // 1.4 lists tools as tools, not components.
    expect(doc.metadata.tools).toEqual([{ name: "drydock", version: expect.any(String) as string }]);
    expect(doc.metadata.properties).toContainEqual({ name: "imageId", value: MANIFEST_DIGEST });
    expect(doc.components.length).toBe(bom(toCycloneDxJson(sampleInventory(), FIXED)).components.length);
    expect(await validateCycloneDx(json, "1.4")).toBeNull();
    expect(
      await validateCycloneDx(toCycloneDxJson(emptyInventory(), { cyclonedxVersion: "1.4" }), "1.4"),
    ).toBeNull();
  });

  it("has a validator that does reject invalid documents", async () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    (doc.components[0] as Partial<CdxComponent>).name = undefined;
    expect(await validateCycloneDx(JSON.stringify(doc))).not.toBeNull();
    doc.components[0]!.name = "x";
    doc.serialNumber = "not-a-urn";
    expect(await validateCycloneDx(JSON.stringify(doc))).not.toBeNull();
  });

  it("describes the image in metadata", () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    expect(doc).toMatchObject({ bomFormat: "CycloneDX", specVersion: "1.6" });
    expect(doc.serialNumber).toBe(`urn:uuid:${FIXED.uuid}`);
    expect(doc.metadata.timestamp).toBe("2024-05-06T07:08:09.000Z");
    expect(doc.metadata.tools.components).toEqual([
      { type: "application", name: "drydock", version: "0.1.0" },
    ]);

    const image = doc.metadata.component;
    expect(image).toMatchObject({
      type: "container",
      name: "registry.example.com:5000/team/app:1.2",
      version: MANIFEST_DIGEST,
      hashes: [{ alg: "SHA-256", content: "1".repeat(64) }],
    });
    expect(image.purl).toBe(
      `pkg:oci/app@${MANIFEST_DIGEST}?arch=arm64&repository_url=registry.example.com:5000%2Fteam%2Fapp&tag=1.2`,
    );
    expect(image["bom-ref"]).toBe(image.purl);
    expect(props(image)).toEqual([
      ["drydock:image:configDigest", "sha256:" + "2".repeat(64)],
      ["drydock:image:mediaType", "application/vnd.oci.image.manifest.v1+json"],
      ["drydock:image:os", "linux"],
      ["drydock:image:architecture", "arm64"],
      ["drydock:image:variant", "v8"],
      ["drydock:image:layer:0:diffID", "sha256:" + "a".repeat(64)],
      ["drydock:image:layer:0:digest", "sha256:" + "c".repeat(64)],
      ["drydock:image:layer:1:diffID", "sha256:" + "b".repeat(64)],
      ["drydock:image:layer:1:digest", "sha256:" + "d".repeat(64)],
    ]);
    expect(doc.metadata.properties).toEqual([
      {
        name: "drydock:problem",
        value: `java-archive: /app/broken.jar (layer sha256:${"b".repeat(64)}): truncated zip central directory`,
      },
    ]);
    // We know no package dependencies, and empty graph entries would claim "none".
    expect(doc.dependencies).toBeUndefined();
  });

  it("lists the distro as an operating-system component and every package as a library", () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    expect(doc.components[0]).toEqual({
      type: "operating-system",
      name: "debian",
      version: "12",
      "bom-ref": "os:debian@12",
      description: "Debian GNU/Linux 12 (bookworm)",
      properties: [{ name: "drydock:distro:codename", value: "bookworm" }],
    });
    const libs = doc.components.slice(1);
    expect(libs).toHaveLength(sampleInventory().packages.length);
    expect(new Set(libs.map((c) => c.type))).toEqual(new Set(["library"]));
    const refs = [doc.metadata.component, ...doc.components].map((c) => c["bom-ref"]);
    expect(new Set(refs).size).toBe(refs.length);
  });

  it("carries source package, arch, epoch and release as properties", () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    const ssl = doc.components.find((c) => c.name === "libssl3")!;
    expect(ssl).toMatchObject({
      version: "3.0.11-1~deb12u2",
      purl: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12",
      "bom-ref": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12",
    });
    expect(props(ssl)).toEqual([
      ["drydock:layer:diffID", "sha256:" + "a".repeat(64)],
      ["drydock:location:path", "/var/lib/dpkg/status"],
      ["drydock:package:sourceName", "openssl"],
      ["drydock:package:sourceVersion", "3.0.11-1~deb12u2"],
      ["drydock:package:arch", "arm64"],
    ]);
    const bash = doc.components.find((c) => c.name === "bash")!;
    expect(props(bash)).toEqual([
      ["drydock:layer:diffID", "sha256:" + "a".repeat(64)],
      ["drydock:location:path", "/var/lib/rpm/rpmdb.sqlite"],
      ["drydock:package:arch", "aarch64"],
      ["drydock:package:epoch", "1"],
      ["drydock:package:release", "6.el9"],
      // metadata.modularitylabel was empty: no property
    ]);
  });

  it("keeps scoped npm names and marks development dependencies with the cdx:npm taxonomy", () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    const babel = doc.components.find((c) => c.name === "@babel/core")!;
    expect(babel).toMatchObject({
      purl: "pkg:npm/%40babel/core@7.23.2",
      "bom-ref": "pkg:npm/%40babel/core@7.23.2",
    });
    expect(props(babel)).toContainEqual(["cdx:npm:package:development", "true"]);
    expect(props(babel).map(([n]) => n)).not.toContain("drydock:package:development");
  });

  it("records where a nested jar was found, and metadata as properties", () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    const log4j = doc.components.find((c) => c.purl?.startsWith("pkg:maven/"))!;
    expect(props(log4j)).toEqual([
      ["drydock:layer:diffID", "sha256:" + "b".repeat(64)],
      ["drydock:location:path", "/app/app.jar"],
      ["drydock:location:archivePath", "BOOT-INF/lib/log4j-core-2.14.1.jar"],
      // '.' is not a taxonomy name character; arrays repeat the property
      ["drydock:metadata:pom_groupId", "org.apache.logging.log4j"],
      ["drydock:metadata:shaded", "false"],
      ["drydock:metadata:tags", "a"],
      ["drydock:metadata:tags", "b"],
    ]);
    expect(log4j.licenses).toEqual([{ license: { id: "Apache-2.0" } }]);
  });

  it("gives a package found at two paths two components with distinct bom-refs", () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    const lodash = doc.components.filter((c) => c.name === "lodash");
    expect(lodash.map((c) => c["bom-ref"])).toEqual([
      "pkg:npm/lodash@4.17.21|/app/node_modules/lodash/package.json",
      "pkg:npm/lodash@4.17.21|/app/vendor/node_modules/lodash/package.json",
    ]);
    expect(lodash.map((c) => c.purl)).toEqual(["pkg:npm/lodash@4.17.21", "pkg:npm/lodash@4.17.21"]);
  });

  it("maps license strings to ids, expressions or names without losing any", () => {
    const doc = bom(toCycloneDxJson(sampleInventory(), FIXED));
    const lic = (name: string) => doc.components.find((c) => c.name === name)!.licenses;
    expect(lic("libssl3")).toEqual([
      { license: { id: "Apache-2.0" } },
      { license: { name: "Artistic" } },
      { license: { name: "GPL-1+" } },
    ]);
    expect(lic("dual")).toEqual([{ expression: "MIT OR Apache-2.0" }]);
    // An expression next to free text cannot be one expression: everything becomes a name.
    expect(lic("weird-licenses")).toEqual([
      { license: { name: "(MIT or Apache-2.0)" } },
      { license: { name: "BSD-like (see LICENSE)" } },
      { license: { name: "GPL 2" } },
    ]);
    expect(lic("libstdc++6")).toBeUndefined();
    expect(lic("zope_interface")).toBeUndefined();
  });

  it("merges several SPDX strings that include an expression into one AND expression", () => {
    const [only, ...rest] = cyclonedxLicenses(["MIT OR Apache-2.0", "isc", "ISC"]);
    expect(rest).toEqual([]);
    expect(only).toBeInstanceOf(Models.LicenseExpression);
    expect((only as Models.LicenseExpression).expression).toBe("(MIT OR Apache-2.0) AND ISC");
    expect(cyclonedxLicenses(["MIT", "mit"])).toHaveLength(1);
    expect(cyclonedxLicenses(["", "  "])).toEqual([]);
  });

  it("is deterministic: same inventory and options, same bytes, whatever the package order", () => {
    const a = toCycloneDxJson(sampleInventory(), FIXED);
    const shuffled = sampleInventory();
    shuffled.packages.reverse();
    expect(toCycloneDxJson(shuffled, FIXED)).toBe(a);
    expect(toCycloneDxJson(sampleInventory(), FIXED)).toBe(a);
  });

  it("differs between runs only in serial number and timestamp by default", () => {
    const strip = (json: string) => {
      const { serialNumber: _s, metadata, ...rest } = bom(json);
      const { timestamp: _t, ...meta } = metadata;
      return { ...rest, metadata: meta };
    };
    const a = toCycloneDxJson(sampleInventory());
    const b = toCycloneDxJson(sampleInventory());
    expect(bom(a).serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(bom(a).serialNumber).not.toBe(bom(b).serialNumber);
    expect(strip(a)).toEqual(strip(b));
  });
});
