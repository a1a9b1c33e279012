/**
 * What verification reads from the registry: manifests by tag or digest, referrers, small
 * blobs. It goes to the stores directly, never through RegistryService.getManifest, which runs
 * the pull gate: a gate must never hold the reads that verification itself needs. Everything
 * read here is untrusted (anyone with push rights wrote it), so sizes are bounded and
 * digests re-checked.
 */
import { createHash } from "node:crypto";
import type { Digest } from "../../core/digest.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore } from "../../storage/meta/store.js";

/** Largest signature manifest or payload read (signatures are a few KiB). */
export const MAX_ARTIFACT_BYTES = 256 * 1024;
/** Most referrers or layers looked at per image: a flood of junk referrers cannot make a GET slow. */
export const MAX_CANDIDATES = 64;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations: Record<string, string>;
}

export interface ArtifactReader {
  repositoryId(name: string): Promise<number | null>;
  tag(repositoryId: number, tag: string): Promise<string | null>;
  /** A manifest's bytes when it is in the repository and not too large. */
  manifest(repositoryId: number, digest: string): Promise<Buffer | null>;
  referrers(repositoryId: number, subject: string, artifactType?: string): Promise<Descriptor[]>;
  /** A blob's bytes when it is at most `maxBytes` and its content matches its digest. */
  blob(digest: string, maxBytes?: number): Promise<Buffer | null>;
}

function sha256Matches(digest: string, bytes: Buffer): boolean {
  return digest === `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function storeReader(meta: MetaStore, blobs: BlobStore): ArtifactReader {
  const readChecked = async (digest: string, maxBytes: number): Promise<Buffer | null> => {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return null;
    try {
      const st = await blobs.stat(digest as Digest);
      if (!st || st.size > maxBytes) return null;
      const bytes = await blobs.read(digest as Digest);
      return sha256Matches(digest, bytes) ? bytes : null;
    } catch {
      return null;
    }
  };
  return {
    repositoryId: (name) => meta.registry.repositoryId(name),
    tag: (repo, tag) => meta.registry.tag(repo, tag),
    async manifest(repo, digest) {
      const m = await meta.registry.manifest(repo, digest);
      if (!m || m.size > MAX_ARTIFACT_BYTES) return null;
      return readChecked(digest, MAX_ARTIFACT_BYTES);
    },
    async referrers(repo, subject, artifactType) {
      const rows = await meta.registry.referrers(repo, subject, artifactType);
      return rows.slice(0, MAX_CANDIDATES).map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        annotations: r.annotations ?? {},
      }));
    },
    blob: (digest, maxBytes = MAX_ARTIFACT_BYTES) => readChecked(digest, maxBytes),
  };
}

/** A JSON object, or null (bad JSON, not an object). */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** One descriptor of a manifest (layers, blobs, subject), or null when malformed. */
export function parseDescriptor(v: unknown): Descriptor | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.mediaType !== "string" || typeof o.digest !== "string") return null;
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) return null;
  const annotations: Record<string, string> = {};
  if (o.annotations !== undefined) {
    if (o.annotations === null || typeof o.annotations !== "object" || Array.isArray(o.annotations))
      return null;
    for (const [k, val] of Object.entries(o.annotations as Record<string, unknown>))
      if (typeof val === "string") annotations[k] = val;
  }
  return {
    mediaType: o.mediaType,
    digest: o.digest,
    size: o.size,
    ...(typeof o.artifactType === "string" ? { artifactType: o.artifactType } : {}),
    annotations,
  };
}

/** The layers (image manifest) or blobs (artifact manifest) of a manifest, malformed entries dropped. */
export function manifestLayers(m: Record<string, unknown>): Descriptor[] {
  const list = Array.isArray(m.layers) ? m.layers : Array.isArray(m.blobs) ? m.blobs : [];
  return list
    .slice(0, MAX_CANDIDATES)
    .map(parseDescriptor)
    .filter((d): d is Descriptor => d !== null);
}
