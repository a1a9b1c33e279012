import { createHash } from "node:crypto";
import { IMAGE_MANIFEST_MEDIA_TYPES, INDEX_MEDIA_TYPES, MediaTypes } from "../core/media-types.js";
import type { LayerRef, Platform, PlatformImage, ResolvedImage } from "./types.js";

/**
 * Turns manifests and configs (as bytes, from any source) into platform images. Shared by
 * every ImageSource so that media-type handling lives in one place.
 */

export class ImageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageFormatError";
  }
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/**
 * Largest manifest, index or image config read into memory. The Distribution spec caps
 * manifests at 4 MiB; configs carry history and can be larger, but not by orders of magnitude.
 * A reference pointing "the manifest" at a multi-GiB layer blob is refused, not buffered.
 */
export const MAX_JSON_BLOB_BYTES = 32 * 1024 * 1024;

export function sha256Digest(b: Buffer): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(bytes.toString("utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ImageFormatError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

export function mediaTypeOf(json: Record<string, unknown>, fallback?: string): string {
  if (typeof json.mediaType === "string") return json.mediaType;
  if (fallback) return fallback;
  if (json.schemaVersion === 1) return MediaTypes.dockerSchema1;
  return Array.isArray(json.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** Parses `linux/arm64/v8` style platform filters. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split("/");
  if (!os || !architecture)
    throw new ImageFormatError(`platform must be OS/ARCH[/VARIANT], got ${JSON.stringify(s)}`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

function platformMatches(want: Platform, have: Platform): boolean {
  return (
    want.os === have.os &&
    want.architecture === have.architecture &&
    (!want.variant || want.variant === have.variant)
  );
}

export interface ManifestFetcher {
  /** Bytes of a manifest or config blob by digest (verified by the caller of resolveImage). */
  fetch(digest: string, mediaType?: string): Promise<Buffer>;
}

/**
 * Resolves a manifest (or index) into platform images. `platform` keeps only matching
 * members of an index. Attestation and unknown-platform members of an index are skipped.
 */
export async function resolveImage(
  manifestBytes: Buffer,
  digest: string,
  fetcher: ManifestFetcher,
  opts: { platform?: Platform; mediaTypeHint?: string } = {},
): Promise<ResolvedImage> {
  const json = parseJson(manifestBytes, "manifest");
  const mediaType = mediaTypeOf(json, opts.mediaTypeHint);
  if (INDEX_MEDIA_TYPES.has(mediaType)) {
    const members = ((json.manifests ?? []) as Descriptor[]).filter(
      (d) =>
        d.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest" &&
        d.platform?.os !== "unknown" &&
        (!opts.platform || (d.platform && platformMatches(opts.platform, d.platform))),
    );
    if (!members.length) {
      throw new ImageFormatError(
        opts.platform
          ? `no image for platform ${platformString(opts.platform)} in the index`
          : "the image index lists no images",
      );
    }
    const images: PlatformImage[] = [];
    for (const d of members) {
      checkDigest(d.digest, "index member");
      const bytes = await fetcher.fetch(d.digest, d.mediaType);
      verify(bytes, d.digest, "manifest");
      const r = await resolveImage(bytes, d.digest, fetcher, { mediaTypeHint: d.mediaType });
      for (const img of r.images) images.push({ ...img, platform: d.platform ?? img.platform });
    }
    return { index: { digest, mediaType }, images };
  }
  if (!IMAGE_MANIFEST_MEDIA_TYPES.has(mediaType)) {
    if (mediaType.includes("manifest.v1"))
      throw new ImageFormatError("Docker schema 1 images are not supported");
    throw new ImageFormatError(`unsupported manifest media type ${mediaType}`);
  }
  const config = json.config as Descriptor | undefined;
  const layers = (json.layers ?? []) as Descriptor[];
  if (!config?.digest || !Array.isArray(layers))
    throw new ImageFormatError("manifest has no config or layers");
  checkDigest(config.digest, "config");
  const configBytes = await fetcher.fetch(config.digest, config.mediaType);
  verify(configBytes, config.digest, "config");
  const cfg = parseJson(configBytes, "image config");
  const diffIDs = diffIDsOf(cfg, layers.length, "image config");
  for (const l of layers) {
    if (typeof l?.digest !== "string" || !DIGEST.test(l.digest))
      throw new ImageFormatError(
        `manifest lists a layer with an invalid digest ${JSON.stringify(l?.digest)}`,
      );
  }
  const layerRefs: LayerRef[] = layers.map((l, i) => ({
    digest: l.digest,
    diffID: diffIDs[i]!,
    mediaType: l.mediaType ?? MediaTypes.ociLayer,
    size: l.size,
  }));
  return {
    images: [
      {
        manifestDigest: digest,
        manifestMediaType: mediaType,
        configDigest: config.digest,
        platform: {
          os: typeof cfg.os === "string" ? cfg.os : "unknown",
          architecture: typeof cfg.architecture === "string" ? cfg.architecture : "unknown",
          ...(typeof cfg.variant === "string" ? { variant: cfg.variant } : {}),
        },
        layers: layerRefs,
        config: cfg,
      },
    ],
  };
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * The config's rootfs.diff_ids, checked: one per layer, each a digest. They key the layer cache
 * and are verified against the decompressed layer, so they must be well-formed strings.
 */
export function diffIDsOf(cfg: Record<string, unknown>, layerCount: number, where: string): string[] {
  const raw = (cfg.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids ?? [];
  if (!Array.isArray(raw) || !raw.every((d): d is string => typeof d === "string" && DIGEST.test(d)))
    throw new ImageFormatError(`${where}: rootfs.diff_ids must be a list of digests`);
  if (raw.length !== layerCount)
    throw new ImageFormatError(`${where} lists ${raw.length} diff_ids for ${layerCount} layers`);
  return raw;
}

function checkDigest(d: unknown, what: string): void {
  if (typeof d !== "string" || !DIGEST.test(d))
    throw new ImageFormatError(`${what} has an invalid digest ${JSON.stringify(d)}`);
}

export function verify(bytes: Buffer, digest: string, what: string): void {
  if (!digest.startsWith("sha256:")) return;
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new ImageFormatError(`${what} ${digest} has content digest ${actual}`);
}
