import { describe, expect, it } from "vitest";
import { parsePurl } from "../catalog/purl.js";
import type { ImageInventory } from "../image/types.js";
import { imagePurl, parseRegistryReference } from "./image-purl.js";

const DIGEST = "sha256:" + "e".repeat(64);

function image(reference: string, architecture = "amd64"): ImageInventory["image"] {
  return {
    reference,
    manifestDigest: DIGEST,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    configDigest: "sha256:" + "f".repeat(64),
    platform: { os: "linux", architecture },
    layers: [],
  };
}

describe("image references", () => {
  it("parses registry references like Docker does", () => {
    expect(parseRegistryReference("debian:12")).toEqual({
      registry: "docker.io",
      repository: "library/debian",
      tag: "12",
      digest: undefined,
    });
    expect(parseRegistryReference("localhost:5000/team/app@" + DIGEST)).toEqual({
      registry: "localhost:5000",
      repository: "team/app",
      tag: undefined,
      digest: DIGEST,
    });
    expect(parseRegistryReference("docker://ghcr.io/org/tool:v1")).toMatchObject({
      registry: "ghcr.io",
      repository: "org/tool",
      tag: "v1",
    });
    expect(parseRegistryReference("user/app")).toMatchObject({
      registry: "docker.io",
      repository: "user/app",
    });
  });

  it("rejects what is not a registry reference", () => {
    expect(parseRegistryReference("oci:./layout:latest")).toBeNull();
    expect(parseRegistryReference("docker-archive:/tmp/app.tar")).toBeNull();
    expect(parseRegistryReference("/tmp/Upper/Case")).toBeNull();
    expect(parseRegistryReference("app@sha256:short")).toBeNull();
  });
});

describe("imagePurl", () => {
  it("follows the purl spec's oci type for registry references", () => {
    const p = parsePurl(imagePurl(image("debian:12")))!;
    expect(p).toMatchObject({ type: "oci", name: "debian", version: DIGEST });
    expect(p.namespace).toBeUndefined();
    expect(p.qualifiers).toEqual({ arch: "amd64", repository_url: "docker.io/library/debian", tag: "12" });
  });

  it("names local sources after their file or directory, without a repository_url", () => {
    expect(parsePurl(imagePurl(image("docker-archive:/tmp/My-App.tar")))).toMatchObject({
      name: "my-app",
      qualifiers: { arch: "amd64" },
    });
    expect(parsePurl(imagePurl(image("oci:./build/layout:v2", "arm64")))).toMatchObject({
      name: "layout",
      qualifiers: { arch: "arm64" },
    });
    expect(parsePurl(imagePurl(image("dir:/")))!.name).toBe("image");
  });
});
