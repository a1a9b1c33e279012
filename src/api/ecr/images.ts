import { z } from "zod";
import { isDigest } from "../../core/digest.js";
import { AwsError, type Operation } from "../aws-json.js";
import { findImage, requireRepository, type EcrDeps } from "./context.js";
import {
  checkRegistryId,
  decodeToken,
  encodeToken,
  epochSeconds,
  imageId,
  imageNotFound,
  isString,
  maxResults,
  nextToken,
  parse,
  registryId,
  repositoryName,
  tagStatus,
  type ImageId,
} from "./shapes.js";
import type { ImageRecord } from "./store.js";

/** ListImages, DescribeImages, BatchGetImage, BatchDeleteImage over the registry's manifests. */

const filter = z
  .object({
    tagStatus: tagStatus.optional(),
    imageStatus: z.enum(["ACTIVE", "ARCHIVED", "ACTIVATING", "ANY"]).optional(),
  })
  .optional();

function byTagStatus(images: ImageRecord[], status: string | undefined): ImageRecord[] {
  if (status === "TAGGED") return images.filter((i) => i.tags.length > 0);
  if (status === "UNTAGGED") return images.filter((i) => i.tags.length === 0);
  return images;
}

/** Keyset pagination over an in-memory, key-ordered list (a repository's images). */
function page<T>(items: T[], key: (t: T) => string, token: string | undefined, limit: number) {
  const after = decodeToken(token, isString);
  const start = after === undefined ? 0 : items.findIndex((t) => key(t) > after);
  const rest = start < 0 ? [] : items.slice(start);
  const out = rest.slice(0, limit);
  const more = rest.length > limit;
  return { items: out, nextToken: more ? encodeToken(key(out.at(-1)!)) : undefined };
}

const failureId = (id: ImageId) => ({
  ...(id.imageDigest !== undefined ? { imageDigest: id.imageDigest } : {}),
  ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}),
});

/** The failure of one id of a batch, or null when the id is well-formed. */
function idProblem(id: ImageId) {
  if (id.imageDigest === undefined && id.imageTag === undefined)
    return {
      imageId: failureId(id),
      failureCode: "MissingDigestAndTag",
      failureReason: "Invalid request parameters: both tag and digest cannot be null",
    };
  if (id.imageDigest !== undefined && !isDigest(id.imageDigest))
    return {
      imageId: failureId(id),
      failureCode: "InvalidImageDigest",
      failureReason:
        "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
    };
  return null;
}

export function imageOperations(d: EcrDeps): Record<string, Operation> {
  async function scanFields(repo: string, img: ImageRecord) {
    if (!d.scan) return {};
    const state = await d.scan.imageScanState(repo, img.digest).catch(() => null);
    if (!state) return {};
    const out: Record<string, unknown> = {
      imageScanStatus: {
        status: state.status,
        ...(state.description ? { description: state.description } : {}),
      },
    };
    if (state.completedAt !== undefined) {
      const f = await d.scan.imageScanFindings(repo, img.digest).catch(() => null);
      out.imageScanFindingsSummary = {
        imageScanCompletedAt: epochSeconds(state.completedAt),
        ...(state.vulnerabilitySourceUpdatedAt !== undefined
          ? { vulnerabilitySourceUpdatedAt: epochSeconds(state.vulnerabilitySourceUpdatedAt) }
          : {}),
        findingSeverityCounts: f?.severityCounts ?? {},
      };
    }
    return out;
  }

  async function detail(repo: string, img: ImageRecord) {
    return {
      registryId: d.accountId,
      repositoryName: repo,
      imageDigest: img.digest,
      ...(img.tags.length ? { imageTags: img.tags } : {}),
      imageSizeInBytes: img.imageSize,
      imagePushedAt: epochSeconds(img.pushedAt),
      imageManifestMediaType: img.mediaType,
      ...(img.artifactType ? { artifactMediaType: img.artifactType } : {}),
      ...(img.subject ? { subjectManifestDigest: img.subject } : {}),
      imageStatus: "ACTIVE",
      ...(await scanFields(repo, img)),
    };
  }

  return {
    async ListImages(raw) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryName,
          nextToken: nextToken.optional(),
          maxResults: maxResults.optional(),
          filter,
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const images = byTagStatus(await d.store.images(repo.id), input.filter?.tagStatus);
      // One entry per tag; an untagged image is its digest alone.
      const ids = images.flatMap((i) =>
        i.tags.length
          ? i.tags.map((t) => ({ imageDigest: i.digest, imageTag: t }))
          : [{ imageDigest: i.digest }],
      );
      const p = page(
        ids,
        (x) => `${x.imageDigest}\u0000${"imageTag" in x ? x.imageTag : ""}`,
        input.nextToken,
        input.maxResults ?? 100,
      );
      return { imageIds: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },

    async DescribeImages(raw) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryName,
          imageIds: z.array(imageId).min(1).max(100).optional(),
          nextToken: nextToken.optional(),
          maxResults: maxResults.optional(),
          filter,
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const images = await d.store.images(repo.id);
      if (input.imageIds) {
        if (input.maxResults !== undefined || input.nextToken !== undefined) {
          throw new AwsError(
            "InvalidParameterException",
            "Invalid parameter: maxResults and nextToken cannot be used with imageIds",
          );
        }
        const out = [];
        for (const id of input.imageIds) {
          const img = findImage(images, id);
          if (!img) throw imageNotFound(d, repo.name, id);
          out.push(await detail(repo.name, img));
        }
        return { imageDetails: out };
      }
      const p = page(
        byTagStatus(images, input.filter?.tagStatus),
        (i) => i.digest,
        input.nextToken,
        input.maxResults ?? 100,
      );
      const details = [];
      for (const img of p.items) details.push(await detail(repo.name, img));
      return { imageDetails: details, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },

    async BatchGetImage(raw) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryName,
          imageIds: z.array(imageId).min(1).max(100),
          acceptedMediaTypes: z.array(z.string().min(1).max(255)).min(1).max(100).optional(),
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const images = await d.store.images(repo.id);
      const out = [];
      const failures = [];
      for (const id of input.imageIds) {
        const problem = idProblem(id);
        if (problem) {
          failures.push(problem);
          continue;
        }
        const img = findImage(images, id);
        if (!img) {
          failures.push({
            imageId: failureId(id),
            failureCode: "ImageNotFound",
            failureReason: "Requested image not found",
          });
          continue;
        }
        const m = await d.registry.getManifest(repo.name, img.digest);
        out.push({
          registryId: d.accountId,
          repositoryName: repo.name,
          imageId: {
            imageDigest: img.digest,
            ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}),
          },
          imageManifest: m.body.toString("utf8"),
          imageManifestMediaType: m.mediaType,
        });
      }
      return { images: out, failures };
    },

    async BatchDeleteImage(raw) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryName,
          imageIds: z.array(imageId).min(1).max(100),
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const deleted = [];
      const failures = [];
      for (const id of input.imageIds) {
        const problem = idProblem(id);
        if (problem) {
          failures.push(problem);
          continue;
        }
        // Re-read per id: an earlier id of the batch may have removed tags or images.
        const img = findImage(await d.store.images(repo.id), id);
        if (!img) {
          failures.push({
            imageId: failureId(id),
            failureCode: "ImageNotFound",
            failureReason: "Requested image not found",
          });
          continue;
        }
        // Through the registry service, so that its listeners (events, scans) hear of it.
        if (id.imageDigest === undefined && img.tags.length > 1) {
          // By tag: only the tag goes, unless it was the image's last tag.
          await d.registry.deleteManifest(repo.name, id.imageTag!);
          deleted.push({ imageDigest: img.digest, imageTag: id.imageTag! });
          continue;
        }
        await d.registry.deleteManifest(repo.name, img.digest);
        if (id.imageTag !== undefined) deleted.push({ imageDigest: img.digest, imageTag: id.imageTag });
        else if (img.tags.length)
          for (const t of img.tags) deleted.push({ imageDigest: img.digest, imageTag: t });
        else deleted.push({ imageDigest: img.digest });
      }
      return { imageIds: deleted, failures };
    },
  };
}
