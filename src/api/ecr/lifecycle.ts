import { z } from "zod";
import { LifecyclePolicyError } from "../../policy/lifecycle/grammar.js";
import type { LifecycleService } from "../../policy/lifecycle/service.js";
import type { RepositoryRecord } from "../../storage/meta/store.js";
import { AwsError, type Operation } from "../aws-json.js";
import { requireRepository, type EcrDeps } from "./context.js";
import {
  checkRegistryId,
  decodeToken,
  encodeToken,
  epochSeconds,
  imageId,
  isString,
  nextToken,
  parse,
  registryId,
  repositoryName,
  tagStatus,
  type Registry,
} from "./shapes.js";

/**
 * ECR lifecycle policies (docs/lifecycle.md): Put/Get/DeleteLifecyclePolicy and
 * Start/GetLifecyclePolicyPreview over the repository settings service (the policy) and the
 * lifecycle service (previews, computed by a job: Start answers IN_PROGRESS, the
 * LifecyclePolicyPreviewComplete waiter polls Get until COMPLETE or FAILED).
 */

const policyText = z.string();

function policyNotFound(r: Registry, name: string): AwsError {
  return new AwsError(
    "LifecyclePolicyNotFoundException",
    `Lifecycle policy does not exist for the repository with name '${name}' in the registry with id '${r.accountId}'`,
  );
}

/** Runs `fn`, turning an invalid policy into ECR's InvalidParameterException (rule and field named). */
async function validating<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LifecyclePolicyError) throw new AwsError(e.code, e.message);
    throw e;
  }
}

export function lifecycleOperations(d: EcrDeps): Record<string, Operation> {
  const service = (): LifecycleService => {
    if (!d.lifecycle)
      throw new AwsError("ValidationException", "Lifecycle policies are not available on this registry.");
    return d.lifecycle;
  };
  const repoOf = async (input: {
    registryId?: string;
    repositoryName: string;
  }): Promise<RepositoryRecord> => {
    checkRegistryId(d, input.registryId);
    return requireRepository(d, input.repositoryName);
  };
  const policyShape = (repo: RepositoryRecord, text: string, lastEvaluatedAt?: number | null) => ({
    registryId: d.accountId,
    repositoryName: repo.name,
    lifecyclePolicyText: text,
    ...(lastEvaluatedAt !== undefined && lastEvaluatedAt !== null
      ? { lastEvaluatedAt: epochSeconds(lastEvaluatedAt) }
      : {}),
  });
  const base = { registryId: registryId.optional(), repositoryName };

  return {
    async PutLifecyclePolicy(raw) {
      const input = parse(z.object({ ...base, lifecyclePolicyText: policyText }), raw);
      const repo = await repoOf(input);
      await validating(() => d.settings.putLifecyclePolicy(repo.id, input.lifecyclePolicyText));
      return policyShape(repo, input.lifecyclePolicyText);
    },

    async GetLifecyclePolicy(raw) {
      const input = parse(z.object(base), raw);
      const repo = await repoOf(input);
      const p = await d.settings.lifecyclePolicy(repo.id);
      if (!p) throw policyNotFound(d, repo.name);
      return policyShape(repo, p.policyText, p.lastEvaluatedAt);
    },

    async DeleteLifecyclePolicy(raw) {
      const input = parse(z.object(base), raw);
      const repo = await repoOf(input);
      const p = await d.settings.deleteLifecyclePolicy(repo.id);
      if (!p) throw policyNotFound(d, repo.name);
      return policyShape(repo, p.policyText, p.lastEvaluatedAt);
    },

    async StartLifecyclePolicyPreview(raw) {
      const input = parse(z.object({ ...base, lifecyclePolicyText: policyText.optional() }), raw);
      const repo = await repoOf(input);
      const r = await validating(() => service().startPreview(repo, input.lifecyclePolicyText));
      if (!r.ok) {
        if (r.reason === "no-policy") throw policyNotFound(d, repo.name);
        throw new AwsError(
          "LifecyclePolicyPreviewInProgressException",
          `A lifecycle policy preview of the repository with name '${repo.name}' is already in progress in the registry with id '${d.accountId}'`,
        );
      }
      return { ...policyShape(repo, r.policyText), status: "IN_PROGRESS" };
    },

    async GetLifecyclePolicyPreview(raw) {
      const input = parse(
        z.object({
          ...base,
          imageIds: z.array(imageId).min(1).max(100).optional(),
          nextToken: nextToken.optional(),
          maxResults: z.number().int().min(1).max(100).optional(),
          filter: z.object({ tagStatus: tagStatus.optional() }).optional(),
        }),
        raw,
      );
      const repo = await repoOf(input);
      const preview = await service().preview(repo.id);
      if (!preview)
        throw new AwsError(
          "LifecyclePolicyPreviewNotFoundException",
          `There is no lifecycle policy preview for the repository with name '${repo.name}' in the registry with id '${d.accountId}'`,
        );
      if (input.imageIds && (input.maxResults !== undefined || input.nextToken !== undefined))
        throw new AwsError(
          "InvalidParameterException",
          "Invalid parameter: maxResults and nextToken cannot be used with imageIds",
        );
      const head = { ...policyShape(repo, preview.policyText), status: preview.status };
      if (preview.status !== "COMPLETE") return { ...head, previewResults: [] };
      // Ids name images by digest or by tag (a tag as the registry has it now).
      let digests: string[] | undefined;
      if (input.imageIds) {
        digests = [];
        for (const id of input.imageIds) {
          if (id.imageDigest !== undefined) digests.push(id.imageDigest);
          else if (id.imageTag !== undefined) {
            const img = await d.registry.findImage(repo.name, { tag: id.imageTag });
            if (img) digests.push(img.digest);
          }
        }
      }
      const page = await service().previewResults(repo.id, {
        after: decodeToken(input.nextToken, isString),
        limit: input.maxResults ?? 100,
        tagStatus: input.filter?.tagStatus,
        digests,
      });
      const last = page.items.at(-1);
      return {
        ...head,
        previewResults: page.items.map((r) => ({
          ...(r.tags.length ? { imageTags: r.tags } : {}),
          imageDigest: r.digest,
          imagePushedAt: epochSeconds(r.pushedAt),
          action: { type: "EXPIRE" },
          appliedRulePriority: r.rulePriority,
          storageClass: "STANDARD",
        })),
        ...(page.more && last ? { nextToken: encodeToken(last.digest) } : {}),
        summary: { expiringImageTotalCount: await service().countPreviewResults(repo.id) },
      };
    },
  };
}
