import type { RegistryIdentity } from "../api/inspector2/finding.js";
import type { Logger } from "../core/logger.js";
import type { Digest } from "../core/digest.js";
import { vexChangeEvent } from "../events/envelope.js";
import { appendEvent } from "../events/log.js";
import type { ManifestDeleted, ManifestStored, RegistryHooks } from "../registry/hooks.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore, StoredVex } from "../storage/meta/store.js";
import { reapplySuppression } from "./suppression.js";
import { parseVex, vexFormatOfMediaType, VEX_LIMITS, VexError, type VexFormat } from "./vex/index.js";

/**
 * VEX documents pushed as referrers (docs/vex-and-exceptions.md): a manifest with a `subject`
 * whose artifactType (else its config's media type, else a layer's) is an OpenVEX or CycloneDX
 * media type is a VEX document about its subject. In the push's own transaction (a VEX is a few
 * kilobytes, read once), its layer is read and parsed, its statements stored for the subject
 * (and each platform manifest of a subject index) and the subject's findings decided again:
 * `not_affected` turns them SUPPRESSED, with events. A document that cannot be applied (not
 * JSON, not VEX, invalid, too large, no layer) is still stored by the registry (a registry keeps
 * what it is given, and the push succeeds), but recorded INVALID with the reason, logged, and
 * announced by a `Drydock VEX Change` event; it changes no finding. Deleting the referrer
 * removes its statements and decides the findings again (ACTIVE again where only it suppressed).
 */

export interface VexReferrersOptions {
  registry: RegistryIdentity;
  now?: () => number;
  log?: Logger;
  /** The largest VEX layer read (bigger ones are INVALID). */
  maxBytes?: number;
}

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
}

export class VexReferrers {
  private readonly now: () => number;
  private readonly maxBytes: number;

  constructor(
    private readonly blobs: BlobStore,
    private readonly o: VexReferrersOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.maxBytes = o.maxBytes ?? VEX_LIMITS.maxBytes;
  }

  registryHooks(): RegistryHooks {
    return {
      manifestStored: (tx, e) => this.manifestStored(tx, e),
      manifestDeleted: (tx, e) => this.manifestDeleted(tx, e),
    };
  }

  private async manifestStored(tx: MetaStore, e: ManifestStored): Promise<void> {
    if (!e.subject) return;
    let manifest: { artifactType?: unknown; config?: Descriptor; layers?: unknown };
    try {
      manifest = JSON.parse((await this.blobs.read(e.digest as Digest)).toString("utf8")) as typeof manifest;
    } catch {
      return; // the registry parsed it already; nothing to do with what is not a JSON manifest
    }
    const layers: Descriptor[] = Array.isArray(manifest.layers) ? (manifest.layers as Descriptor[]) : [];
    const typeOf = (d: Descriptor | undefined) =>
      typeof d?.mediaType === "string" ? d.mediaType : undefined;
    const format =
      vexFormatOfMediaType(typeof manifest.artifactType === "string" ? manifest.artifactType : undefined) ??
      vexFormatOfMediaType(typeOf(manifest.config)) ??
      layers.map((l) => vexFormatOfMediaType(typeOf(l))).find((f) => f !== undefined);
    if (!format) return;
    const now = this.now();
    const images = await this.imagesOf(tx, e.repositoryId, e.subject);
    const base = {
      repositoryId: e.repositoryId,
      referrerDigest: e.digest,
      subjectDigest: e.subject,
      format,
      createdAt: now,
    };
    let statements: string;
    let count: number;
    try {
      const doc = await this.readDocument(layers, format);
      statements = JSON.stringify(doc.statements);
      count = doc.statements.length;
    } catch (err) {
      if (!(err instanceof VexError)) throw err;
      await tx.vex.put(
        images.map((imageDigest) => ({
          ...base,
          imageDigest,
          status: "INVALID",
          error: err.message,
          statements: null,
        })),
      );
      this.o.log?.warn(
        { repository: e.repository, referrer: e.digest, subject: e.subject, err: err.message },
        "VEX referrer stored but not applied: it is not a valid VEX document",
      );
      await appendEvent(
        tx,
        vexChangeEvent(
          this.o.registry,
          {
            change: "INVALID",
            repositoryName: e.repository,
            subjectDigest: e.subject,
            referrerDigest: e.digest,
            format,
            error: err.message,
            images,
            findingsChanged: 0,
          },
          now,
        ),
      );
      return;
    }
    await tx.vex.put(
      images.map((imageDigest) => ({ ...base, imageDigest, status: "APPLIED", error: null, statements })),
    );
    const changed = await reapplySuppression(tx, this.o.registry, now, {
      repositoryId: e.repositoryId,
      digests: images,
    });
    await appendEvent(
      tx,
      vexChangeEvent(
        this.o.registry,
        {
          change: "APPLIED",
          repositoryName: e.repository,
          subjectDigest: e.subject,
          referrerDigest: e.digest,
          format,
          statements: count,
          images,
          findingsChanged: changed,
        },
        now,
      ),
    );
  }

  private async manifestDeleted(tx: MetaStore, e: ManifestDeleted): Promise<void> {
    if (e.tag !== undefined) return;
    const rows = await tx.vex.deleteReferrer(e.repositoryId, e.digest);
    if (!rows.length) return;
    const now = this.now();
    const images = [...new Set(rows.map((r) => r.imageDigest))];
    const applied = rows.some((r) => r.status === "APPLIED");
    const changed = applied
      ? await reapplySuppression(tx, this.o.registry, now, { repositoryId: e.repositoryId, digests: images })
      : 0;
    await appendEvent(
      tx,
      vexChangeEvent(
        this.o.registry,
        {
          change: "REMOVED",
          repositoryName: e.repository,
          subjectDigest: rows[0]!.subjectDigest,
          referrerDigest: e.digest,
          format: rows[0]!.format,
          images,
          findingsChanged: changed,
        },
        now,
      ),
    );
  }

  /** The VEX layer's document: the first layer of a VEX media type, else the first layer. */
  private async readDocument(layers: Descriptor[], format: VexFormat) {
    const layer =
      layers.find((l) => typeof l.mediaType === "string" && vexFormatOfMediaType(l.mediaType)) ?? layers[0];
    if (!layer || typeof layer.digest !== "string")
      throw new VexError("INVALID", "the VEX referrer has no layer holding the document");
    // The stored blob's own size, not the descriptor's (which the pusher wrote): a referrer
    // naming a huge layer must not be read into memory.
    const size = (await this.blobs.stat(layer.digest as Digest))?.size;
    if (size === undefined) throw new VexError("INVALID", `the VEX layer ${layer.digest} is not stored`);
    if (size > this.maxBytes)
      throw new VexError("TOO_LARGE", `the VEX document is ${size} bytes (at most ${this.maxBytes})`);
    const bytes = await this.blobs.read(layer.digest as Digest);
    return parseVex(bytes, format, this.maxBytes);
  }

  /** The images a document about `subject` speaks for: the subject, and each manifest of a subject index. */
  private async imagesOf(tx: MetaStore, repositoryId: number, subject: string): Promise<string[]> {
    const m = await tx.registry.manifest(repositoryId, subject);
    if (!m || !INDEX_TYPES.has(m.mediaType)) return [subject];
    try {
      const index = JSON.parse((await this.blobs.read(subject as Digest)).toString("utf8")) as {
        manifests?: Descriptor[];
      };
      const members = (index.manifests ?? [])
        .map((d) => d.digest)
        .filter((d): d is string => typeof d === "string");
      return [...new Set([subject, ...members])];
    } catch {
      return [subject];
    }
  }
}

/** The VEX documents of an image or repository as people read them (`drydock exceptions vex`). */
export function describeVex(r: StoredVex): string {
  return `${r.referrerDigest} ${r.format} ${r.status}${r.error ? `: ${r.error}` : ""} (subject ${r.subjectDigest}, image ${r.imageDigest})`;
}
