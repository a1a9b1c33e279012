import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { MediaTypes } from "../core/media-types.js";
import type { Digest } from "../core/digest.js";
import type { Logger } from "../core/logger.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import { VulnDb } from "../vulndb/db.js";

/**
 * The vulnerability database reaches the workers of a cluster without a shared file system:
 * each build is published as an OCI artifact in Drydock's own store, in the reserved
 * repository `_drydock/vulndb` (a name clients cannot use: repository names start with a
 * letter or digit, so it is never pushed to, pulled, scanned, gated or listed), tagged
 * `latest`; the last KEEP builds are kept (older ones are left to garbage collection). Workers
 * poll the tag and swap their local copy by rename when the digest changes; the scan engine's
 * VulnDbProvider then opens the new file, as after a local build.
 */
export const VULNDB_REPOSITORY = "_drydock/vulndb";
export const VULNDB_ARTIFACT_TYPE = "application/vnd.drydock.vulndb.v1";
export const VULNDB_LAYER_TYPE = "application/vnd.drydock.vulndb.layer.v1.sqlite";
const TAG = "latest";
const KEEP = 3;
/** The OCI empty descriptor's content (image-spec 1.1 "Guidance for an Empty Descriptor"). */
const EMPTY = Buffer.from("{}");

async function sha256File(path: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest("hex")}` as Digest, size };
}

/** Publishes a database file; returns the artifact's manifest digest. */
export async function publishVulnDb(
  meta: MetaStore,
  blobs: BlobStore,
  file: string,
  builtAt: string,
): Promise<{ manifest: Digest; layer: Digest; size: number }> {
  const layer = await sha256File(file);
  if (!(await blobs.stat(layer.digest))) {
    const up = await blobs.upload(randomUUID());
    try {
      await up.append(createReadStream(file));
      await up.commit(layer.digest);
    } catch (e) {
      await up.cancel().catch(() => undefined);
      throw e;
    }
  }
  const config = await blobs.putBuffer(
    `sha256:${createHash("sha256").update(EMPTY).digest("hex")}` as Digest,
    EMPTY,
  );
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: VULNDB_ARTIFACT_TYPE,
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config.digest, size: EMPTY.length },
      layers: [
        {
          mediaType: VULNDB_LAYER_TYPE,
          digest: layer.digest,
          size: layer.size,
          annotations: { "org.opencontainers.image.title": "vulndb.sqlite" },
        },
      ],
      annotations: { "org.opencontainers.image.created": builtAt },
    }),
  );
  const manifest = `sha256:${createHash("sha256").update(body).digest("hex")}` as Digest;
  await blobs.putBuffer(manifest, body);
  const repo = await meta.registry.ensureRepository(VULNDB_REPOSITORY);
  await meta.tx(async (tx) => {
    await tx.registry.linkBlob(repo, config.digest, EMPTY.length);
    await tx.registry.linkBlob(repo, layer.digest, layer.size);
    const r = await tx.registry.putManifest({
      repositoryId: repo,
      digest: manifest,
      mediaType: MediaTypes.ociManifest,
      artifactType: VULNDB_ARTIFACT_TYPE,
      subject: null,
      size: body.length,
      annotations: { "org.opencontainers.image.created": builtAt },
      references: [
        { digest: config.digest, kind: "blob" },
        { digest: layer.digest, kind: "blob" },
      ],
      tag: TAG,
    });
    if (!r.ok) throw new Error(`publishing the vulnerability database: ${JSON.stringify(r.missing)}`);
  });
  // Keep the newest KEEP builds; the bytes of older ones go at the next garbage collection.
  const all = (await meta.registry.images(repo, { limit: 1000 })).items.sort(
    (a, b) => b.pushedAt - a.pushedAt,
  );
  for (const old of all.slice(KEEP)) await meta.registry.deleteManifest(repo, old.digest);
  return { manifest, layer: layer.digest, size: layer.size };
}

/**
 * Publishes the database built at `file`, dated by its own `built_at`: what `drydock db
 * import|update` and the server's scheduled update (./vulndb-update.ts) do after a build in a
 * cluster.
 */
export async function publishVulnDbFile(
  meta: MetaStore,
  blobs: BlobStore,
  file: string,
): Promise<{ manifest: Digest; layer: Digest; size: number }> {
  return publishVulnDb(meta, blobs, file, builtAtOf(file));
}

/** When the database file was built (its `meta.built_at`). */
export function builtAtOf(file: string): string {
  const db = VulnDb.open(file);
  try {
    return db.freshness().builtAt;
  } finally {
    db.close();
  }
}

/**
 * The published build's layer (the database file) and when it was built, or null when nothing
 * was published.
 */
export async function publishedVulnDb(
  meta: MetaStore,
  blobs: BlobStore,
): Promise<{ manifest: string; layer: Digest; size: number; builtAt: string } | null> {
  const repo = await meta.registry.repositoryId(VULNDB_REPOSITORY);
  const manifest = repo === null ? null : await meta.registry.tag(repo, TAG);
  if (!manifest) return null;
  const doc = JSON.parse((await blobs.read(manifest as Digest)).toString("utf8")) as {
    layers?: { mediaType?: string; digest?: string; size?: number }[];
    annotations?: Record<string, string>;
  };
  const l = doc.layers?.find((x) => x.mediaType === VULNDB_LAYER_TYPE);
  if (!l?.digest || typeof l.size !== "number")
    throw new Error(`${VULNDB_REPOSITORY}@${manifest} has no database layer`);
  return {
    manifest,
    layer: l.digest as Digest,
    size: l.size,
    builtAt: doc.annotations?.["org.opencontainers.image.created"] ?? "",
  };
}

/**
 * A worker's copy of the published database at `path`: `sync()` downloads a new build (digest
 * verified) next to it and renames it into place; `<path>.digest` remembers which build it is.
 */
export class VulnDbSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  /** Builds of this node in progress (exclusive): no download meanwhile. */
  private held = 0;

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    private readonly path: string,
    private readonly log?: Logger,
  ) {}

  start(intervalMs: number): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  private tick(): Promise<boolean> {
    if (this.held) return Promise.resolve(false);
    this.running ??= this.sync()
      .catch((err: unknown) => {
        this.log?.warn({ err }, "cannot fetch the published vulnerability database");
        return false;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Fetches the published build when it is not the local one; true when the file changed. */
  async sync(): Promise<boolean> {
    const pub = await publishedVulnDb(this.meta, this.blobs);
    if (!pub) return false;
    const mark = `${this.path}.digest`;
    const local = await readFile(mark, "utf8").catch(() => "");
    if (local.trim() === pub.layer) return false;
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${randomUUID()}.tmp`;
    try {
      await pipeline(await this.blobs.open(pub.layer), createWriteStream(tmp));
      const got = await sha256File(tmp);
      if (got.digest !== pub.layer)
        throw new Error(`downloaded database is ${got.digest}, expected ${pub.layer}`);
      await rename(tmp, this.path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await writeFile(mark, pub.layer + "\n");
    this.log?.info(
      { build: pub.manifest, layer: pub.layer },
      "vulnerability database fetched from the cluster",
    );
    return true;
  }

  /**
   * Runs `fn`, a build of the database on this node followed by its publication, with no
   * download in between (one in flight finishes first): a fetch of an older build must not
   * replace the new file before it is published.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.held++;
    try {
      await this.running;
      return await fn();
    } finally {
      this.held--;
    }
  }

  /** The local file is the published build `layer` (built and published here): nothing to fetch. */
  async adopt(layer: Digest): Promise<void> {
    await writeFile(`${this.path}.digest`, layer + "\n");
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
