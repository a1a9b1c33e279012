import type { Readable } from "node:stream";
import { MediaTypes } from "../../core/media-types.js";
import {
  diffIDsOf,
  ImageFormatError,
  platformString,
  resolveImage,
  sha256Digest,
  verify,
} from "../resolve.js";
import type { ImageSource, LayerRef, LocalBlob, Platform, ResolvedImage } from "../types.js";
import { normalizeEntryPath } from "../paths.js";
import { pickFromIndex } from "./oci-layout.js";
import { TarIndex } from "./tar-index.js";

const layoutBlob = (digest: unknown) => {
  if (typeof digest !== "string" || !/^[a-z0-9]+:[a-f0-9]+$/.test(digest))
    throw new ImageFormatError(`invalid digest ${JSON.stringify(digest)}`);
  return `blobs/${digest.replace(":", "/")}`;
};

function parseJsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new ImageFormatError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ImageFormatError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** `oci-archive:FILE[:TAG]`: an OCI layout inside a tar file, read in place. */
export class OciArchiveSource implements ImageSource {
  private index: TarIndex | null = null;
  constructor(
    readonly reference: string,
    private readonly file: string,
    private readonly tag: string | undefined,
    private readonly platform?: Platform,
  ) {}

  private async tar(): Promise<TarIndex> {
    return (this.index ??= await TarIndex.build(this.file));
  }

  async resolve(): Promise<ResolvedImage> {
    const tar = await this.tar();
    if (!tar.has("index.json"))
      throw new ImageFormatError(`${this.file} is not an OCI archive (no index.json)`);
    const index = parseJsonObject(await tar.read("index.json"), `${this.file}: index.json`) as {
      manifests?: { digest: string; mediaType?: string; annotations?: Record<string, string> }[];
    };
    const entry = pickFromIndex(Array.isArray(index.manifests) ? index.manifests : [], this.tag, this.file);
    const bytes = await tar.read(layoutBlob(entry.digest));
    verify(bytes, entry.digest, "manifest");
    return resolveImage(
      bytes,
      entry.digest,
      { fetch: (d) => tar.read(layoutBlob(d)) },
      { platform: this.platform, mediaTypeHint: entry.mediaType },
    );
  }

  async openLayer(layer: LayerRef): Promise<Readable> {
    return (await this.tar()).stream(layoutBlob(layer.digest));
  }

  async localLayer(layer: LayerRef): Promise<LocalBlob> {
    return (await this.tar()).locate(layoutBlob(layer.digest));
  }

  async close(): Promise<void> {}
}

/** A member named in manifest.json, as TarIndex keys it (normalized, no leading slash). */
function memberPath(p: string): string {
  return (normalizeEntryPath(p) ?? "/").slice(1);
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * `docker-archive:FILE[:REPO:TAG]`: the output of `docker save`. There is no registry
 * manifest in it, so the image is identified by its config digest (the image ID).
 * Layers are the tar members named in manifest.json (plain tar in classic archives,
 * possibly compressed blobs in Docker 25+ archives).
 */
export class DockerArchiveSource implements ImageSource {
  private index: TarIndex | null = null;
  private layerPaths = new Map<string, string>();
  constructor(
    readonly reference: string,
    private readonly file: string,
    private readonly tag: string | undefined,
    private readonly platform?: Platform,
  ) {}

  private async tar(): Promise<TarIndex> {
    return (this.index ??= await TarIndex.build(this.file));
  }

  async resolve(): Promise<ResolvedImage> {
    const tar = await this.tar();
    if (!tar.has("manifest.json"))
      throw new ImageFormatError(`${this.file} is not a docker archive (no manifest.json)`);
    let entries: DockerManifestEntry[];
    try {
      entries = JSON.parse((await tar.read("manifest.json")).toString("utf8")) as DockerManifestEntry[];
    } catch (e) {
      throw new ImageFormatError(`${this.file}: manifest.json is not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(entries) || !entries.length)
      throw new ImageFormatError(`${this.file}: manifest.json lists no image`);
    const wellFormed = (e: DockerManifestEntry) =>
      typeof e === "object" &&
      e !== null &&
      typeof e.Config === "string" &&
      Array.isArray(e.Layers) &&
      e.Layers.every((l) => typeof l === "string");
    if (!entries.every(wellFormed))
      throw new ImageFormatError(`${this.file}: manifest.json entries need Config and Layers (strings)`);
    let entry = entries[0]!;
    if (this.tag) {
      const m = entries.find((e) => e.RepoTags?.some((t) => t === this.tag || t.endsWith(`/${this.tag}`)));
      if (!m) throw new ImageFormatError(`no image tagged ${this.tag} in ${this.file}`);
      entry = m;
    } else if (entries.length > 1) {
      throw new ImageFormatError(`${this.file} holds ${entries.length} images: name one with :REPO:TAG`);
    }
    const configBytes = await tar.read(memberPath(entry.Config));
    const configDigest = sha256Digest(configBytes);
    const cfg = parseJsonObject(configBytes, `${this.file}: image config ${entry.Config}`);
    const diffIDs = diffIDsOf(cfg, entry.Layers.length, `${this.file}: image config`);
    const layers: LayerRef[] = entry.Layers.map((path, i) => {
      const m = /blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
      const digest = m ? `sha256:${m[1]}` : diffIDs[i]!;
      this.layerPaths.set(digest, memberPath(path));
      return {
        digest,
        diffID: diffIDs[i]!,
        mediaType: MediaTypes.dockerLayer,
        size: 0,
      };
    });
    const platform = {
      os: typeof cfg.os === "string" ? cfg.os : "unknown",
      architecture: typeof cfg.architecture === "string" ? cfg.architecture : "unknown",
      ...(typeof cfg.variant === "string" ? { variant: cfg.variant } : {}),
    };
    if (
      this.platform &&
      (this.platform.os !== platform.os || this.platform.architecture !== platform.architecture)
    ) {
      throw new ImageFormatError(
        `the archive holds a ${platformString(platform)} image, not ${platformString(this.platform)}`,
      );
    }
    return {
      images: [
        {
          manifestDigest: configDigest,
          manifestMediaType: MediaTypes.dockerManifest,
          configDigest,
          platform,
          layers,
          config: cfg,
        },
      ],
    };
  }

  async openLayer(layer: LayerRef): Promise<Readable> {
    return (await this.tar()).stream(this.memberOf(layer));
  }

  async localLayer(layer: LayerRef): Promise<LocalBlob> {
    return (await this.tar()).locate(this.memberOf(layer));
  }

  /** The archive member holding a layer, as manifest.json names it. */
  private memberOf(layer: LayerRef): string {
    const path = this.layerPaths.get(layer.digest);
    if (!path) throw new ImageFormatError(`unknown layer ${layer.digest}`);
    return path;
  }

  async close(): Promise<void> {}
}
