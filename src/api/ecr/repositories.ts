import { z } from "zod";
import { AwsError, type Operation } from "../aws-json.js";
import { visiblePage } from "../paging.js";
import { requireRepository, type EcrDeps } from "./context.js";
import {
  checkRegistryId,
  decodeToken,
  encodeToken,
  epochSeconds,
  imageTagMutability,
  isString,
  maxResults,
  mutabilityExclusionFilters,
  nextToken,
  parse,
  registryId,
  repositoryArn,
  repositoryName,
  repositoryNotFound,
  repositoryUri,
  scanningConfiguration,
} from "./shapes.js";
import type { RepositoryRecord } from "../../storage/meta/store.js";

/** CreateRepository, DescribeRepositories, DeleteRepository and the per-repository settings. */

export function repositoryShape(d: EcrDeps, r: RepositoryRecord) {
  return {
    repositoryArn: repositoryArn(d, r.name),
    registryId: d.accountId,
    repositoryName: r.name,
    repositoryUri: repositoryUri(d, r.name),
    createdAt: epochSeconds(r.createdAt),
    imageTagMutability: r.imageTagMutability,
    ...(r.tagMutabilityExclusions ? { imageTagMutabilityExclusionFilters: r.tagMutabilityExclusions } : {}),
    imageScanningConfiguration: { scanOnPush: r.scanOnPush },
    encryptionConfiguration: r.encryption ?? { encryptionType: "AES256" },
  };
}

const createInput = z.object({
  registryId: registryId.optional(),
  repositoryName,
  tags: z
    .array(z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256) }))
    .max(50)
    .optional(),
  imageTagMutability: imageTagMutability.optional(),
  imageTagMutabilityExclusionFilters: mutabilityExclusionFilters.optional(),
  imageScanningConfiguration: scanningConfiguration.optional(),
  encryptionConfiguration: z
    .object({
      encryptionType: z.enum(["AES256", "KMS", "KMS_DSSE"]),
      kmsKey: z.string().min(1).max(2048).optional(),
    })
    .optional(),
});

function checkExclusions(mutability: string, filters: unknown[] | undefined): void {
  const withExclusion = mutability.endsWith("_WITH_EXCLUSION");
  if (withExclusion && !filters?.length) {
    throw new AwsError(
      "InvalidParameterException",
      `Invalid parameter at 'imageTagMutabilityExclusionFilters': required with ${mutability}`,
    );
  }
  if (!withExclusion && filters?.length) {
    throw new AwsError(
      "InvalidParameterException",
      `Invalid parameter at 'imageTagMutabilityExclusionFilters': only allowed with *_WITH_EXCLUSION`,
    );
  }
}

export function repositoryOperations(d: EcrDeps): Record<string, Operation> {
  return {
    async CreateRepository(raw) {
      const input = parse(createInput, raw);
      checkRegistryId(d, input.registryId);
      const mutability = input.imageTagMutability ?? "MUTABLE";
      checkExclusions(mutability, input.imageTagMutabilityExclusionFilters);
      const created = await d.settings.createRepository(
        input.repositoryName,
        {
          scanOnPush: input.imageScanningConfiguration?.scanOnPush ?? false,
          imageTagMutability: mutability,
          tagMutabilityExclusions: input.imageTagMutabilityExclusionFilters ?? null,
          encryption: input.encryptionConfiguration ?? null,
          tags: input.tags?.length ? input.tags : null,
        },
        async (tx) => d.scan?.repositoryCreated(tx, input.repositoryName),
      );
      if (!created) {
        throw new AwsError(
          "RepositoryAlreadyExistsException",
          `The repository with name '${input.repositoryName}' already exists in the registry with id '${d.accountId}'`,
        );
      }
      return { repository: repositoryShape(d, await requireRepository(d, input.repositoryName)) };
    },

    async DescribeRepositories(raw, ctx) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryNames: z.array(repositoryName).min(1).max(100).optional(),
          nextToken: nextToken.optional(),
          maxResults: maxResults.optional(),
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      if (input.repositoryNames) {
        if (input.maxResults !== undefined || input.nextToken !== undefined) {
          throw new AwsError(
            "InvalidParameterException",
            "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames",
          );
        }
        const out = [];
        for (const name of input.repositoryNames) {
          const r = await d.settings.repository(name);
          if (!r) throw repositoryNotFound(d, name);
          out.push(repositoryShape(d, r));
        }
        return { repositories: out };
      }
      // Only the repositories the caller may pull, pages still full (src/api/paging.ts).
      const page = await visiblePage((after, limit) => d.settings.repositories(after, limit), {
        after: decodeToken(input.nextToken, isString),
        limit: input.maxResults ?? 100,
        key: (r) => r.name,
        visible: ctx.principal.pullsEverything ? undefined : (r) => ctx.principal.may("pull", r.name),
      });
      const last = page.items.at(-1);
      return {
        repositories: page.items.map((r) => repositoryShape(d, r)),
        ...(page.more && last ? { nextToken: encodeToken(last.name) } : {}),
      };
    },

    async DeleteRepository(raw) {
      const input = parse(
        z.object({ registryId: registryId.optional(), repositoryName, force: z.boolean().optional() }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const images = await d.registry.images(repo.name, { limit: 1 });
      if (images.items.length > 0 && !input.force) {
        throw new AwsError(
          "RepositoryNotEmptyException",
          `The repository with name '${repo.name}' in registry with id '${d.accountId}' cannot be deleted because it still contains images`,
        );
      }
      // Blobs are left to garbage collection, as for any deleted manifest.
      await d.registry.deleteRepository(repo.name);
      return { repository: repositoryShape(d, repo) };
    },

    async PutImageScanningConfiguration(raw) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryName,
          imageScanningConfiguration: scanningConfiguration,
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const scanOnPush = input.imageScanningConfiguration.scanOnPush ?? false;
      await d.settings.update(repo.id, { scanOnPush });
      return {
        registryId: d.accountId,
        repositoryName: repo.name,
        imageScanningConfiguration: { scanOnPush },
      };
    },

    async PutImageTagMutability(raw) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryName,
          imageTagMutability,
          imageTagMutabilityExclusionFilters: mutabilityExclusionFilters.optional(),
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      checkExclusions(input.imageTagMutability, input.imageTagMutabilityExclusionFilters);
      const repo = await requireRepository(d, input.repositoryName);
      await d.settings.update(repo.id, {
        imageTagMutability: input.imageTagMutability,
        tagMutabilityExclusions: input.imageTagMutabilityExclusionFilters ?? null,
      });
      return {
        registryId: d.accountId,
        repositoryName: repo.name,
        imageTagMutability: input.imageTagMutability,
        ...(input.imageTagMutabilityExclusionFilters
          ? { imageTagMutabilityExclusionFilters: input.imageTagMutabilityExclusionFilters }
          : {}),
      };
    },
  };
}
