import type { Readable } from "node:stream";
import { ImageFormatError, platformString, resolveImage, sha256Digest, verify } from "../resolve.js";
import type { ImageSource, LayerRef, Platform, ResolvedImage } from "../types.js";
import { pickFromIndex } from "./oci-layout.js";
import { TarIndex } from "./tar-index.js";

const layoutBlob = (digest: string) => `blobs/${digest.replace(":", "/")}`;

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
    const index = JSON.parse((await tar.read("index.json")).toString("utf8")) as {
      manifests?: { digest: string; mediaType?: string; annotations?: Record<string, string> }[];
    };
    const entry = pickFromIndex(index.manifests ?? [], this.tag, this.file);
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

  async close(): Promise<void> {}
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
    let entry = entries[0]!;
    if (this.tag) {
      const m = entries.find((e) => e.RepoTags?.some((t) => t === this.tag || t.endsWith(`/${this.tag}`)));
      if (!m) throw new ImageFormatError(`no image tagged ${this.tag} in ${this.file}`);
      entry = m;
    } else if (entries.length > 1) {
      throw new ImageFormatError(`${this.file} holds ${entries.length} images: name one with :REPO:TAG`);
    }
    const configBytes = await tar.read(entry.Config.replace(/^\.?\//, ""));
    const configDigest = sha256Digest(configBytes);
    const cfg = JSON.parse(configBytes.toString("utf8")) as Record<string, unknown>;
    const diffIDs = ((cfg.rootfs as { diff_ids?: string[] } | undefined)?.diff_ids ?? []) as string[];
    if (diffIDs.length !== entry.Layers.length) {
      throw new ImageFormatError(
        `${this.file}: config lists ${diffIDs.length} diff_ids for ${entry.Layers.length} layers`,
      );
    }
    const layers: LayerRef[] = entry.Layers.map((path, i) => {
      const m = /blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
      const digest = m ? `sha256:${m[1]}` : diffIDs[i]!;
      this.layerPaths.set(digest, path.replace(/^\.?\//, ""));
      return {
        digest,
        diffID: diffIDs[i]!,
        mediaType: "application/vnd.docker.image.rootfs.diff.tar",
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
          manifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
          configDigest,
          platform,
          layers,
          config: cfg,
        },
      ],
    };
  }

  async openLayer(layer: LayerRef): Promise<Readable> {
    const path = this.layerPaths.get(layer.digest);
    if (!path) throw new ImageFormatError(`unknown layer ${layer.digest}`);
    return (await this.tar()).stream(path);
  }

  async close(): Promise<void> {}
}
