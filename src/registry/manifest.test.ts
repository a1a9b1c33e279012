import { describe, expect, it } from "vitest";
import { sha256 } from "../core/digest.js";
import { RegistryError } from "../core/errors.js";
import { isIndexMediaType, MediaTypes, parseManifest } from "./manifest.js";

const d = (s: string) => sha256(s);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** Runs parseManifest expecting a RegistryError; returns it. */
function refusal(body: Buffer, contentType?: string): RegistryError {
  try {
    parseManifest(body, contentType);
  } catch (e) {
    if (e instanceof RegistryError) return e;
    throw e;
  }
  throw new Error("parseManifest accepted the manifest");
}

const ociImage = {
  schemaVersion: 2,
  mediaType: MediaTypes.ociManifest,
  config: { mediaType: OCI_CONFIG, digest: d("config"), size: 6 },
  layers: [
    { mediaType: OCI_LAYER, digest: d("l1"), size: 2 },
    { mediaType: OCI_LAYER, digest: d("l2"), size: 2 },
  ],
  annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
};

describe("parseManifest: OCI image manifests", () => {
  it("lists the config and layers as blob references; artifactType falls back to the config type", () => {
    const p = parseManifest(json(ociImage), MediaTypes.ociManifest);
    expect(p).toEqual({
      mediaType: MediaTypes.ociManifest,
      artifactType: OCI_CONFIG,
      subject: null,
      annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
      references: [
        { digest: d("config"), kind: "blob" },
        { digest: d("l1"), kind: "blob" },
        { digest: d("l2"), kind: "blob" },
      ],
    });
  });

  it("extracts artifactType and subject of an artifact; the subject is not a reference", () => {
    const artifact = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: "application/vnd.example.sbom.v1",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: d("{}"), size: 2, data: "e30=" },
      layers: [{ mediaType: "application/spdx+json", digest: d("sbom"), size: 4 }],
      subject: { mediaType: MediaTypes.ociManifest, digest: d("subject"), size: 100 },
    };
    const p = parseManifest(json(artifact), MediaTypes.ociManifest);
    expect(p.artifactType).toBe("application/vnd.example.sbom.v1");
    expect(p.subject).toBe(d("subject"));
    expect(p.annotations).toBeNull();
    expect(p.references.map((r) => r.digest)).toEqual([d("{}"), d("sbom")]);
  });

  it("takes the media type from Content-Type when the document has no mediaType field", () => {
    const { mediaType: _omitted, ...noField } = ociImage;
    const p = parseManifest(json(noField), `${MediaTypes.ociManifest}; charset=utf-8`);
    expect(p.mediaType).toBe(MediaTypes.ociManifest);
  });

  it("accepts a generic application/json Content-Type when the document declares its type", () => {
    expect(parseManifest(json(ociImage), "application/json").mediaType).toBe(MediaTypes.ociManifest);
    expect(parseManifest(json(ociImage), undefined).mediaType).toBe(MediaTypes.ociManifest);
  });

  it("tolerates fields it does not know (as the conformance suite pushes them)", () => {
    const withUnknown = {
      ...ociImage,
      config: { ...ociImage.config, newUnspecifiedField: "aGVsbG8gd29ybGQ=" },
      layers: ociImage.layers.map((l) => ({ ...l, newUnspecifiedField: null })),
      futureTopLevel: { x: 1 },
    };
    expect(parseManifest(json(withUnknown), MediaTypes.ociManifest).references).toHaveLength(3);
  });

  it("skips foreign and non-distributable layers: the registry never holds them", () => {
    const m = {
      ...ociImage,
      layers: [
        { mediaType: OCI_LAYER, digest: d("local"), size: 5 },
        { mediaType: OCI_LAYER, digest: d("elsewhere"), size: 5, urls: ["https://example.com/layer"] },
        {
          mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
          digest: d("nd"),
          size: 2,
        },
      ],
    };
    expect(parseManifest(json(m), MediaTypes.ociManifest).references).toEqual([
      { digest: d("config"), kind: "blob" },
      { digest: d("local"), kind: "blob" },
    ]);
  });
});

describe("parseManifest: image indexes", () => {
  const index = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      {
        mediaType: MediaTypes.ociManifest,
        digest: d("amd64"),
        size: 10,
        platform: { architecture: "amd64", os: "linux" },
      },
      {
        mediaType: MediaTypes.ociManifest,
        digest: d("arm64"),
        size: 10,
        platform: { architecture: "arm64", os: "linux" },
      },
    ],
  };

  it("lists its manifests as manifest references; no artifactType unless declared", () => {
    const p = parseManifest(json(index), MediaTypes.ociIndex);
    expect(p).toEqual({
      mediaType: MediaTypes.ociIndex,
      artifactType: null,
      subject: null,
      annotations: null,
      references: [
        { digest: d("amd64"), kind: "manifest" },
        { digest: d("arm64"), kind: "manifest" },
      ],
    });
  });

  it("extracts artifactType, subject and annotations of an index", () => {
    const p = parseManifest(
      json({
        ...index,
        artifactType: "application/vnd.food.stand",
        subject: { mediaType: MediaTypes.ociManifest, digest: d("s"), size: 1 },
        annotations: { k: "v" },
      }),
      MediaTypes.ociIndex,
    );
    expect([p.artifactType, p.subject, p.annotations]).toEqual([
      "application/vnd.food.stand",
      d("s"),
      { k: "v" },
    ]);
  });

  it("accepts an empty index", () => {
    expect(parseManifest(json({ ...index, manifests: [] }), MediaTypes.ociIndex).references).toEqual([]);
  });

  it("isIndexMediaType knows OCI indexes and Docker manifest lists only", () => {
    expect(isIndexMediaType(MediaTypes.ociIndex)).toBe(true);
    expect(isIndexMediaType(MediaTypes.dockerManifestList)).toBe(true);
    expect(isIndexMediaType(MediaTypes.ociManifest)).toBe(false);
    expect(isIndexMediaType(MediaTypes.dockerManifest)).toBe(false);
  });
});

describe("parseManifest: Docker v2 schema 2", () => {
  const docker = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: DOCKER_CONFIG, digest: d("cfg"), size: 3 },
    layers: [
      { mediaType: DOCKER_LAYER, digest: d("a"), size: 1 },
      {
        mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        digest: d("windows-base"),
        size: 1,
        urls: ["https://mcr.microsoft.com/layer"],
      },
    ],
  };

  it("parses an image manifest, skipping foreign layers", () => {
    const p = parseManifest(json(docker), MediaTypes.dockerManifest);
    expect(p.mediaType).toBe(MediaTypes.dockerManifest);
    expect(p.artifactType).toBe(DOCKER_CONFIG);
    expect(p.references).toEqual([
      { digest: d("cfg"), kind: "blob" },
      { digest: d("a"), kind: "blob" },
    ]);
  });

  it("refuses artifactType on a Docker manifest (only OCI manifests have it)", () => {
    const e = refusal(json({ ...docker, artifactType: "application/x" }), MediaTypes.dockerManifest);
    expect(e.code).toBe("MANIFEST_INVALID");
  });

  it("parses a manifest list", () => {
    const list = {
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifestList,
      manifests: [
        {
          mediaType: MediaTypes.dockerManifest,
          digest: d("m1"),
          size: 7,
          platform: { architecture: "amd64", os: "linux" },
        },
      ],
    };
    const p = parseManifest(json(list), MediaTypes.dockerManifestList);
    expect(p.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(p.references).toEqual([{ digest: d("m1"), kind: "manifest" }]);
  });
});

describe("parseManifest: refusals", () => {
  it.each([
    ["malformed JSON", Buffer.from('{"schemaVersion": 2,')],
    ["an empty body", Buffer.alloc(0)],
    ["a JSON array", json([])],
    ["JSON null", Buffer.from("null")],
    ["a JSON number", Buffer.from("2")],
  ])("%s is MANIFEST_INVALID", (_what, body) => {
    const e = refusal(body, MediaTypes.ociManifest);
    expect([e.code, e.status]).toEqual(["MANIFEST_INVALID", 400]);
  });

  it.each([
    ["the document", { schemaVersion: 1, name: "x", tag: "y", fsLayers: [] }, undefined],
    ["Content-Type (signed)", { schemaVersion: 2 }, MediaTypes.dockerSchema1Signed],
    ["Content-Type (unsigned)", { schemaVersion: 2 }, MediaTypes.dockerSchema1],
    ["the mediaType field", { schemaVersion: 2, mediaType: MediaTypes.dockerSchema1 }, undefined],
  ])("Docker schema 1, recognised by %s, is refused with a clear message", (_by, doc, type) => {
    const e = refusal(json(doc), type);
    expect(e.code).toBe("MANIFEST_INVALID");
    expect(e.message).toMatch(/schema 1 is not supported/);
  });

  it("a Content-Type that disagrees with the mediaType field is refused", () => {
    const e = refusal(json(ociImage), MediaTypes.dockerManifest);
    expect(e.code).toBe("MANIFEST_INVALID");
    expect(e.message).toMatch(/does not match/);
  });

  it("no mediaType field and no Content-Type: the type is unknown", () => {
    const { mediaType: _omitted, ...noField } = ociImage;
    expect(refusal(json(noField), undefined).message).toMatch(/media type unknown/);
  });

  it("an unsupported media type is refused", () => {
    expect(refusal(json({ schemaVersion: 2 }), "application/vnd.example+json").message).toMatch(
      /unsupported manifest media type/,
    );
  });

  it.each([
    ["config", { ...ociImage, config: undefined }],
    ["schemaVersion", { ...ociImage, schemaVersion: 3 }],
    ["schemaVersion", { ...ociImage, schemaVersion: "2" }],
    ["layers", { ...ociImage, layers: undefined }],
    ["layers.0.digest", { ...ociImage, layers: [{ mediaType: OCI_LAYER, digest: "sha256:xyz", size: 1 }] }],
    [
      "layers.0.digest",
      { ...ociImage, layers: [{ mediaType: OCI_LAYER, digest: d("x").toUpperCase(), size: 1 }] },
    ],
    ["layers.0.size", { ...ociImage, layers: [{ mediaType: OCI_LAYER, digest: d("x"), size: -1 }] }],
    ["layers.0.size", { ...ociImage, layers: [{ mediaType: OCI_LAYER, digest: d("x"), size: 1.5 }] }],
    ["layers.0.mediaType", { ...ociImage, layers: [{ digest: d("x"), size: 1 }] }],
    ["config.digest", { ...ociImage, config: { mediaType: OCI_CONFIG, size: 1 } }],
    [
      "subject.digest",
      { ...ociImage, subject: { mediaType: MediaTypes.ociManifest, digest: "nope", size: 1 } },
    ],
    ["annotations.k", { ...ociImage, annotations: { k: 1 } }],
  ])("a schema violation at %s is MANIFEST_INVALID and names the place", (where, doc) => {
    const e = refusal(json(doc), MediaTypes.ociManifest);
    expect(e.code).toBe("MANIFEST_INVALID");
    expect(e.message).toContain(`at ${where}:`);
  });

  it("an index without manifests is refused", () => {
    const e = refusal(json({ schemaVersion: 2, mediaType: MediaTypes.ociIndex }), MediaTypes.ociIndex);
    expect(e.message).toContain("at manifests:");
  });

  it("a descriptor with a digest algorithm Drydock cannot verify is UNSUPPORTED", () => {
    const m = {
      ...ociImage,
      layers: [{ mediaType: OCI_LAYER, digest: `sha384:${"a".repeat(96)}`, size: 1 }],
    };
    expect(refusal(json(m), MediaTypes.ociManifest).code).toBe("UNSUPPORTED");
  });
});
