import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "zstd-napi";

/**
 * Test helpers written for these tests: a tiny tar writer (ustar, pax, GNU long names, base-256
 * sizes, deliberately broken headers) and writers for OCI layouts and docker archives around
 * such tars. Hostile layers are built here, never checked in.
 */

export interface TarEntrySpec {
  name: string;
  /** 0 file (default), 1 hard link, 2 symlink, 5 directory, or any other typeflag character. */
  type?: "0" | "1" | "2" | "5" | "3" | "6" | string;
  body?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Extended pax records written in an `x` header before the entry. */
  pax?: Record<string, string>;
  /** Write the name (and linkname) in GNU `L` / `K` headers. */
  gnuLongName?: boolean;
  /** Size field in GNU base-256 encoding. */
  base256Size?: boolean;
  /** Size written in the header instead of the body length (pax size tests). */
  headerSize?: number;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
}

const BLOCK = 512;
const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
const bytes = (b: Buffer | string | undefined) =>
  typeof b === "string" ? Buffer.from(b) : (b ?? Buffer.alloc(0));

export function header(opts: {
  name: string;
  type: string;
  size: number;
  mode?: number;
  linkname?: string;
  base256Size?: boolean;
  badChecksum?: boolean;
  prefix?: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(opts.name, 0, 100, "utf8");
  h.write(((opts.mode ?? 0o644) & 0o7777).toString(8).padStart(7, "0") + "\0", 100, 8, "ascii");
  h.write("0000000\0", 108, 8, "ascii");
  h.write("0000000\0", 116, 8, "ascii");
  if (opts.base256Size) {
    h[124] = 0x80;
    let v = BigInt(opts.size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else h.write(opts.size.toString(8).padStart(11, "0") + "\0", 124, 12, "ascii");
  h.write("14000000000\0", 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii");
  h.write(opts.type, 156, 1, "latin1");
  h.write(opts.linkname ?? "", 157, 100, "utf8");
  h.write("ustar\0" + "00", 257, 8, "latin1");
  if (opts.prefix) h.write(opts.prefix, 345, 155, "utf8");
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  if (opts.badChecksum) sum += 1;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

function paxRecords(recs: Record<string, string>): Buffer {
  let out = "";
  for (const [k, v] of Object.entries(recs)) {
    const kv = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(kv) + 1;
    while (String(len).length + Buffer.byteLength(kv) !== len)
      len = String(len).length + Buffer.byteLength(kv);
    out += `${len}${kv}`;
  }
  return Buffer.from(out);
}

/** One entry (with its extended headers, body and padding). */
export function tarEntry(e: TarEntrySpec): Buffer {
  const body = bytes(e.body);
  const parts: Buffer[] = [];
  if (e.pax) {
    const p = paxRecords(e.pax);
    parts.push(header({ name: "PaxHeaders/x", type: "x", size: p.length }), p, pad(p.length));
  }
  let name = e.name;
  let linkname = e.linkname ?? "";
  if (e.gnuLongName) {
    const n = Buffer.from(name + "\0");
    parts.push(header({ name: "././@LongLink", type: "L", size: n.length }), n, pad(n.length));
    name = name.slice(0, 99);
    if (linkname) {
      const l = Buffer.from(linkname + "\0");
      parts.push(header({ name: "././@LongLink", type: "K", size: l.length }), l, pad(l.length));
      linkname = linkname.slice(0, 99);
    }
  }
  parts.push(
    header({
      name,
      type: e.type ?? "0",
      size: e.headerSize ?? body.length,
      mode: e.mode,
      linkname,
      base256Size: e.base256Size,
      badChecksum: e.badChecksum,
    }),
    body,
    pad(body.length),
  );
  return Buffer.concat(parts);
}

/** A whole archive; `eoa: false` leaves out the two zero blocks. */
export function tarball(entries: (TarEntrySpec | Buffer)[], opts: { eoa?: boolean } = {}): Buffer {
  const parts = entries.map((e) => (Buffer.isBuffer(e) ? e : tarEntry(e)));
  if (opts.eoa !== false) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export type Compression = "gzip" | "zstd" | "none";

export function compress(tar: Buffer, c: Compression): Buffer {
  if (c === "gzip") return gzipSync(tar);
  if (c === "zstd") return zstdCompress(tar);
  return tar;
}

const LAYER_TYPE: Record<Compression, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
};

export interface LayerSpec {
  tar: Buffer;
  compression?: Compression;
  /** The diffID the config claims (default: the real one). */
  diffID?: string;
  /** The stored blob (default: the tar, compressed); lets a test store truncated bytes. */
  blob?: Buffer;
}

export interface BuiltImage {
  manifestDigest: string;
  configDigest: string;
  diffIDs: string[];
  layerDigests: string[];
  manifest: Buffer;
  config: Buffer;
  blobs: Map<string, Buffer>;
}

/** Manifest, config and blobs of a single-platform image (nothing written). */
export function buildImage(
  layers: LayerSpec[],
  platform: { os: string; architecture: string; variant?: string } = { os: "linux", architecture: "amd64" },
): BuiltImage {
  const blobs = new Map<string, Buffer>();
  const diffIDs = layers.map((l) => l.diffID ?? sha256(l.tar));
  const descs = layers.map((l) => {
    const blob = l.blob ?? compress(l.tar, l.compression ?? "gzip");
    const digest = sha256(blob);
    blobs.set(digest, blob);
    return { mediaType: LAYER_TYPE[l.compression ?? "gzip"], digest, size: blob.length };
  });
  const config = Buffer.from(
    JSON.stringify({
      ...platform,
      config: {},
      rootfs: { type: "layers", diff_ids: diffIDs },
      history: layers.map(() => ({ created_by: "test" })),
    }),
  );
  const configDigest = sha256(config);
  blobs.set(configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: configDigest,
        size: config.length,
      },
      layers: descs,
    }),
  );
  const manifestDigest = sha256(manifest);
  blobs.set(manifestDigest, manifest);
  return {
    manifestDigest,
    configDigest,
    diffIDs,
    layerDigests: descs.map((d) => d.digest),
    manifest,
    config,
    blobs,
  };
}

/** Writes an OCI image layout with one image per tag. */
export async function writeOciLayout(dir: string, images: Record<string, BuiltImage>): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const manifests = [];
  for (const [tag, img] of Object.entries(images)) {
    for (const [d, b] of img.blobs) await writeFile(join(dir, "blobs", "sha256", d.slice(7)), b);
    manifests.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: img.manifestDigest,
      size: img.manifest.length,
      annotations: { "org.opencontainers.image.ref.name": tag },
    });
  }
  await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
}

/** An OCI layout with one image tagged `latest`; returns the `oci:` reference. */
export async function ociImage(
  dir: string,
  layers: LayerSpec[],
): Promise<{ ref: string; image: BuiltImage }> {
  const image = buildImage(layers);
  await writeOciLayout(dir, { latest: image });
  return { ref: `oci:${dir}`, image };
}

/** A `docker save` style archive (classic layout: <id>/layer.tar, plain tars). */
export function dockerArchive(layers: Buffer[], repoTag = "example.com/test:latest"): Buffer {
  const diffIDs = layers.map((l) => sha256(l));
  const config = Buffer.from(
    JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: diffIDs } }),
  );
  const configName = `${sha256(config).slice(7)}.json`;
  const layerPaths = layers.map((_, i) => `${String(i).padStart(64, "0")}/layer.tar`);
  const manifest = JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layerPaths }]);
  return tarball([
    ...layers.map((l, i) => ({ name: layerPaths[i]!, body: l })),
    { name: configName, body: config },
    { name: "manifest.json", body: manifest },
  ]);
}

/** An OCI layout packed in a tar (what `skopeo copy ... oci-archive:FILE` writes). */
export function ociArchive(image: BuiltImage, tag = "latest"): Buffer {
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: image.manifestDigest,
        size: image.manifest.length,
        annotations: { "org.opencontainers.image.ref.name": tag },
      },
    ],
  });
  return tarball([
    { name: "oci-layout", body: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
    { name: "index.json", body: index },
    { name: "blobs/", type: "5" },
    { name: "blobs/sha256/", type: "5" },
    ...[...image.blobs].map(([d, b]) => ({ name: `blobs/sha256/${d.slice(7)}`, body: b })),
  ]);
}

/** A minimal dpkg status database. */
export function dpkgStatus(
  pkgs: { name: string; version: string; status?: string; arch?: string }[],
): string {
  return pkgs
    .map(
      (p) =>
        `Package: ${p.name}\nStatus: ${p.status ?? "install ok installed"}\nArchitecture: ${p.arch ?? "amd64"}\nVersion: ${p.version}\nDescription: test\n`,
    )
    .join("\n");
}

export const DEBIAN_OS_RELEASE =
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n';
