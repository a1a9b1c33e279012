import { z } from "zod";
import { isDigest } from "../../core/digest.js";
import { RegistryError } from "../../core/errors.js";
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
import type { ImageRecord } from "../../storage/meta/store.js";
import type { ImageScanSummary } from "../../scan/types.js";

/** ListImages, DescribeImages, BatchGetImage, BatchDeleteImage over the registry's manifests. */

const filter = z
  .object({
    tagStatus: tagStatus.optional(),
    imageStatus: z.enum(["ACTIVE", "ARCHIVED", "ACTIVATING", "ANY"]).optional(),
  })
  .optional();

/** The token of ListImages: the last (digest, tag) returned; "" for an untagged image. */
function decodeIdToken(token: string | undefined): { digest: string; tag: string } | undefined {
  const t = decodeToken(token, isString);
  if (t === undefined) return undefined;
  const i = t.indexOf("\u0000");
  return i < 0 ? { digest: t, tag: "" } : { digest: t.slice(0, i), tag: t.slice(i + 1) };
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
  /** The scan fields of DescribeImages for a page of images: a fixed number of queries per page. */
  async function scanFields(repo: string, images: readonly ImageRecord[]) {
    const summaries = d.scan
      ? await d.scan.imageScanSummaries(
          repo,
          images.map((i) => i.digest),
        )
      : new Map<string, ImageScanSummary>();
    return (img: ImageRecord): Record<string, unknown> => {
      const s = summaries.get(img.digest);
      if (!s) return {};
      const { state } = s;
      return {
        imageScanStatus: {
          status: state.status,
          ...(state.description ? { description: state.description } : {}),
        },
        ...(state.completedAt !== undefined
          ? {
              imageScanFindingsSummary: {
                imageScanCompletedAt: epochSeconds(state.completedAt),
                ...(state.vulnerabilitySourceUpdatedAt !== undefined
                  ? { vulnerabilitySourceUpdatedAt: epochSeconds(state.vulnerabilitySourceUpdatedAt) }
                  : {}),
                findingSeverityCounts: s.severityCounts,
              },
            }
          : {}),
      };
    };
  }

  async function details(repo: string, images: readonly ImageRecord[]) {
    const scan = await scanFields(repo, images);
    return images.map((img) => ({
      registryId: d.accountId,
      repositoryName: repo,
      imageDigest: img.digest,
      ...(img.tags.length ? { imageTags: img.tags } : {}),
      imageSizeInBytes: img.imageSize,
      imagePushedAt: epochSeconds(img.pushedAt),
      ...(img.lastPulledAt !== null ? { lastRecordedPullTime: epochSeconds(img.lastPulledAt) } : {}),
      imageManifestMediaType: img.mediaType,
      ...(img.artifactType ? { artifactMediaType: img.artifactType } : {}),
      ...(img.subject ? { subjectManifestDigest: img.subject } : {}),
      imageStatus: "ACTIVE",
      ...scan(img),
    }));
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
      // One entry per tag; an untagged image is its digest alone.
      const p = await d.registry.imageIds(repo.name, {
        after: decodeIdToken(input.nextToken),
        limit: input.maxResults ?? 100,
        tagStatus: input.filter?.tagStatus,
      });
      const last = p.items.at(-1);
      return {
        imageIds: p.items.map((i) => ({
          imageDigest: i.digest,
          ...(i.tag !== null ? { imageTag: i.tag } : {}),
        })),
        ...(p.more && last ? { nextToken: encodeToken(`${last.digest}\u0000${last.tag ?? ""}`) } : {}),
      };
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
      if (input.imageIds) {
        if (input.maxResults !== undefined || input.nextToken !== undefined) {
          throw new AwsError(
            "InvalidParameterException",
            "Invalid parameter: maxResults and nextToken cannot be used with imageIds",
          );
        }
        const found = [];
        for (const id of input.imageIds) {
          const img = await findImage(d, repo, id);
          if (!img) throw imageNotFound(d, repo.name, id);
          found.push(img);
        }
        return { imageDetails: await details(repo.name, found) };
      }
      const p = await d.registry.images(repo.name, {
        after: decodeToken(input.nextToken, isString),
        limit: input.maxResults ?? 100,
        tagStatus: input.filter?.tagStatus,
      });
      const last = p.items.at(-1);
      return {
        imageDetails: await details(repo.name, p.items),
        ...(p.more && last ? { nextToken: encodeToken(last.digest) } : {}),
      };
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
      const out = [];
      const failures = [];
      for (const id of input.imageIds) {
        const problem = idProblem(id);
        if (problem) {
          failures.push(problem);
          continue;
        }
        const img = await findImage(d, repo, id);
        if (!img) {
          failures.push({
            imageId: failureId(id),
            failureCode: "ImageNotFound",
            failureReason: "Requested image not found",
          });
          continue;
        }
        let m;
        try {
          m = await d.registry.getManifest(repo.name, img.digest, { pull: true });
        } catch (e) {
          // The pull gate (docs/policy.md) refused or held the image: a failure of this image, with
          // the gate's reason, in the closest of ECR's failure codes.
          if (!(e instanceof RegistryError) || (e.code !== "DENIED" && e.code !== "TOOMANYREQUESTS")) throw e;
          failures.push({
            imageId: failureId(id),
            failureCode: e.code === "DENIED" ? "UpstreamAccessDenied" : "UpstreamTooManyRequests",
            failureReason: e.message,
          });
          continue;
        }
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
        const img = await findImage(d, repo, id);
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
