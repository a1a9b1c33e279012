import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogers, distroDetectors } from "../../catalog/registry.js";
import { analyzeImage, inventoriesOf } from "../analyze.js";
import { ImageFormatError } from "../resolve.js";
import {
  buildImage,
  DEBIAN_OS_RELEASE,
  dockerArchive,
  dpkgStatus,
  ociArchive,
  sha256,
  tarball,
  writeOciLayout,
  type BuiltImage,
} from "../testdata/images.js";
import { DirSource } from "./dir.js";
import { openImageSource } from "./index.js";
import { parseRemoteReference } from "./registry.js";

const LIMITS = {
  maxEntries: 10_000,
  maxBytes: 1 << 28,
  maxFileBytes: 1 << 24,
  maxNestedArchiveBytes: 1 << 24,
};

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "drydock-sources-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const layerA = tarball([
  { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
  { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "libc6", version: "2.36-9" }]) },
]);
const layerB = tarball([
  {
    name: "var/lib/dpkg/status",
    body: dpkgStatus([
      { name: "libc6", version: "2.36-9" },
      { name: "curl", version: "7.88" },
    ]),
  },
]);

async function inventory(ref: string, platform?: string) {
  const doc = await analyzeImage(openImageSource(ref, { platform }), {
    catalogers,
    detectors: distroDetectors,
    limits: LIMITS,
  });
  return inventoriesOf(doc);
}
const names = (invs: Awaited<ReturnType<typeof inventory>>) => invs.map((i) => i.packages.map((p) => p.name));

describe("oci: layouts", () => {
  let dir: string;
  let one: BuiltImage;
  let two: BuiltImage;
  beforeAll(async () => {
    dir = join(work, "layout:with:colons");
    one = buildImage([{ tar: layerA }]);
    two = buildImage([{ tar: layerA }, { tar: layerB }]);
    await writeOciLayout(dir, { v1: one, latest: two });
  });

  it("picks the image of the :TAG given (org.opencontainers.image.ref.name), even with colons in the path", async () => {
    expect(names(await inventory(`oci:${dir}:v1`))).toEqual([["libc6"]]);
    expect(names(await inventory(`oci:${dir}:latest`))).toEqual([["curl", "libc6"]]);
    const [inv] = await inventory(`oci:${dir}:v1`);
    expect(inv!.image.manifestDigest).toBe(one.manifestDigest);
  });

  it("without a tag picks `latest` among several, or the only image", async () => {
    expect(names(await inventory(`oci:${dir}`))).toEqual([["curl", "libc6"]]);
    const single = join(work, "single");
    await writeOciLayout(single, { v9: one });
    expect(names(await inventory(`oci:${single}`))).toEqual([["libc6"]]);
  });

  it("refuses an unknown tag, an ambiguous layout and a directory that is not a layout", async () => {
    await expect(inventory(`oci:${dir}:nope`)).rejects.toThrow(/no image tagged nope/);
    const ambiguous = join(work, "ambiguous");
    await writeOciLayout(ambiguous, { a: one, b: two });
    await expect(inventory(`oci:${ambiguous}`)).rejects.toThrow(/holds 2 images: name one with :TAG/);
    await expect(inventory(`oci:${work}`)).rejects.toThrow(ImageFormatError);
  });

  it("reports every platform of an index, and only the one asked for with a platform filter", async () => {
    const idxDir = join(work, "multi");
    const amd = buildImage([{ tar: layerA }], { os: "linux", architecture: "amd64" });
    const arm = buildImage([{ tar: layerA }, { tar: layerB }], {
      os: "linux",
      architecture: "arm64",
      variant: "v8",
    });
    await writeOciLayout(idxDir, { amd, arm });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: amd.manifestDigest,
            size: amd.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: arm.manifestDigest,
            size: arm.manifest.length,
            platform: { os: "linux", architecture: "arm64", variant: "v8" },
          },
          // attestation members are not images
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: amd.manifestDigest,
            size: amd.manifest.length,
            platform: { os: "unknown", architecture: "unknown" },
          },
        ],
      }),
    );
    await writeFile(join(idxDir, "blobs", "sha256", sha256(index).slice(7)), index);
    await writeFile(
      join(idxDir, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.index.v1+json",
            digest: sha256(index),
            size: index.length,
            annotations: { "org.opencontainers.image.ref.name": "latest" },
          },
        ],
      }),
    );
    const all = await inventory(`oci:${idxDir}:latest`);
    expect(all.map((i) => `${i.image.platform.architecture}/${i.image.platform.variant ?? ""}`)).toEqual([
      "amd64/",
      "arm64/v8",
    ]);
    expect(names(all)).toEqual([["libc6"], ["curl", "libc6"]]);
    expect(names(await inventory(`oci:${idxDir}:latest`, "linux/arm64"))).toEqual([["curl", "libc6"]]);
    await expect(inventory(`oci:${idxDir}:latest`, "linux/s390x")).rejects.toThrow(
      /no image for platform linux\/s390x/,
    );
  });
});

describe("docker-archive: and oci-archive:", () => {
  it("docker-archive gives the same packages and layers as the OCI layout of the same tars", async () => {
    const file = join(work, "img.tar");
    await writeFile(file, dockerArchive([layerA, layerB]));
    const [d] = await inventory(`docker-archive:${file}`);
    const img = buildImage([{ tar: layerA }, { tar: layerB }]);
    const layout = join(work, "same");
    await writeOciLayout(layout, { latest: img });
    const [o] = await inventory(`oci:${layout}`);
    expect(d!.packages).toEqual(o!.packages);
    expect(d!.distro).toEqual(o!.distro);
    expect(d!.image.layers.map((l) => l.diffID)).toEqual(img.diffIDs);
  });

  it("selects an image by :REPO:TAG and refuses an archive of several without one", async () => {
    const a = dockerArchive([layerA], "example.com/a:1");
    const b = dockerArchive([layerA, layerB], "example.com/b:2");
    // Two images in one archive: merge their members and manifests.
    const manifest = JSON.stringify([
      {
        Config: `${sha256(JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [sha256(layerA)] } })).slice(7)}.json`,
        RepoTags: ["example.com/a:1"],
        Layers: [`${"0".repeat(64)}/layer.tar`],
      },
      {
        Config: `${sha256(JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [sha256(layerA), sha256(layerB)] } })).slice(7)}.json`,
        RepoTags: ["example.com/b:2"],
        Layers: [`${"0".repeat(64)}/layer.tar`, `${"0".repeat(63)}1/layer.tar`],
      },
    ]);
    const strip = (t: Buffer) => t.subarray(0, t.length - 1024); // drop end-of-archive blocks
    const both = Buffer.concat([strip(a), strip(b), tarball([{ name: "manifest.json", body: manifest }])]);
    const file = join(work, "two.tar");
    await writeFile(file, both);
    expect(names(await inventory(`docker-archive:${file}:example.com/a:1`))).toEqual([["libc6"]]);
    expect(names(await inventory(`docker-archive:${file}:example.com/b:2`))).toEqual([["curl", "libc6"]]);
    await expect(inventory(`docker-archive:${file}`)).rejects.toThrow(/holds 2 images/);
    await expect(inventory(`docker-archive:${file}:example.com/c:3`)).rejects.toThrow(/no image tagged/);
  });

  it("oci-archive gives the same inventory as the layout it packs", async () => {
    const img = buildImage([{ tar: layerA }, { tar: layerB, compression: "zstd" }]);
    const file = join(work, "img.oci.tar");
    await writeFile(file, ociArchive(img));
    const layout = join(work, "packed");
    await writeOciLayout(layout, { latest: img });
    const [a] = await inventory(`oci-archive:${file}`);
    const [o] = await inventory(`oci:${layout}`);
    expect(a!.packages).toEqual(o!.packages);
    expect(a!.image.manifestDigest).toBe(img.manifestDigest);
  });

  it("refuses files that are not archives of the right kind, with a typed error", async () => {
    const notTar = join(work, "not.tar");
    await writeFile(notTar, "hello, not a tar file at all".repeat(40));
    await expect(inventory(`docker-archive:${notTar}`)).rejects.toThrow(ImageFormatError);
    const plain = join(work, "plain.tar");
    await writeFile(plain, tarball([{ name: "hello.txt", body: "hi" }]));
    await expect(inventory(`docker-archive:${plain}`)).rejects.toThrow(/not a docker archive/);
    await expect(inventory(`oci-archive:${plain}`)).rejects.toThrow(/not an OCI archive/);
    const badManifest = join(work, "bad-manifest.tar");
    await writeFile(
      badManifest,
      tarball([{ name: "manifest.json", body: '[{"Config": 42, "Layers": [null]}]' }]),
    );
    await expect(inventory(`docker-archive:${badManifest}`)).rejects.toThrow(/need Config and Layers/);
    const truncated = join(work, "truncated.tar");
    await writeFile(truncated, dockerArchive([layerA]).subarray(0, 3000));
    await expect(inventory(`docker-archive:${truncated}`)).rejects.toThrow(/truncated archive/);
    await expect(inventory(`docker-archive:${join(work, "missing.tar")}`)).rejects.toThrow(/cannot open/);
  });
});

describe("dir:", () => {
  it("reads an unpacked root as one layer, never following symlinks out of it", async () => {
    const root = join(work, "rootfs");
    const outside = join(work, "outside");
    await mkdir(join(root, "etc"), { recursive: true });
    await mkdir(join(root, "var/lib/dpkg"), { recursive: true });
    await mkdir(join(outside, "node_modules/evil"), { recursive: true });
    await writeFile(
      join(outside, "node_modules/evil/package.json"),
      JSON.stringify({ name: "evil", version: "6.6.6" }),
    );
    await writeFile(join(root, "etc/os-release"), DEBIAN_OS_RELEASE);
    await writeFile(join(root, "var/lib/dpkg/status"), dpkgStatus([{ name: "libc6", version: "2.36-9" }]));
    await mkdir(join(root, "app"), { recursive: true });
    await symlink(outside, join(root, "app/linked")); // a directory link out of the root
    await symlink("/", join(root, "app/host-root"));
    await symlink("loop", join(root, "app/loop")); // a link to itself
    const deep = join(
      root,
      "srv",
      ...Array.from({ length: 12 }, (_, i) => `level-${i}-${"x".repeat(10)}`),
      "node_modules/deep",
    );
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, "package.json"), JSON.stringify({ name: "deep", version: "1.0.0" }));

    const [inv] = await inventory(`dir:${root}`);
    expect(inv!.distro?.id).toBe("debian");
    expect(inv!.packages.map((p) => `${p.name} ${p.path.length > 100 ? "long" : p.path}`)).toEqual([
      "libc6 /var/lib/dpkg/status",
      "deep long", // a path over 100 bytes, carried in a pax header
    ]);
    expect(inv!.image.layers[0]!.diffID).toBe(`dir:${root}`);
  });

  it("refuses a path that is not a directory", async () => {
    await expect(new DirSource("dir:x", join(work, "nope")).resolve()).rejects.toThrow(/is not a directory/);
  });

  it.skipIf(process.getuid?.() === 0)(
    "reports unreadable files and directories instead of skipping them silently",
    async () => {
      const root = join(work, "locked");
      await mkdir(join(root, "secret"), { recursive: true, mode: 0o000 });
      const [inv] = await inventory(`dir:${root}`);
      expect(inv!.problems.map((p) => p.path)).toEqual(["/secret"]);
    },
  );
});

describe("parseRemoteReference", () => {
  it("splits host, repository, tag and digest", () => {
    expect(parseRemoteReference("127.0.0.1:5000/fixtures/node-app:latest")).toEqual({
      host: "127.0.0.1:5000",
      repository: "fixtures/node-app",
      tag: "latest",
      digest: undefined,
    });
    expect(parseRemoteReference("ghcr.io/a/b@sha256:abc")).toMatchObject({
      repository: "a/b",
      tag: undefined,
      digest: "sha256:abc",
    });
    expect(parseRemoteReference("docker.io/library/debian")).toMatchObject({
      host: "registry-1.docker.io",
      tag: "latest",
    });
    expect(() => parseRemoteReference("no-slash")).toThrow(ImageFormatError);
  });
});
