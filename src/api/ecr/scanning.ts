import { z } from "zod";
import { ScanError, type ScanService } from "../../scan/types.js";
import { AwsError, type Operation } from "../aws-json.js";
import { requireImage, requireRepository, requireScan, type EcrDeps } from "./context.js";
import { basicFinding, enhancedFinding } from "./findings.js";
import {
  checkRegistryId,
  decodeToken,
  encodeToken,
  epochSeconds,
  imageId,
  maxResults,
  nextToken,
  parse,
  registryId,
  repositoryArn,
  repositoryFilter,
  repositoryName,
} from "./shapes.js";

import type { RepositoryRecord } from "../../storage/meta/store.js";

/** Registry and repository scanning configuration, manual scans and findings, over ScanService. */

const SCAN_ERRORS: Record<ScanError["code"], string> = {
  RepositoryNotFound: "RepositoryNotFoundException",
  ImageNotFound: "ImageNotFoundException",
  ScanNotFound: "ScanNotFoundException",
  LimitExceeded: "LimitExceededException",
  UnsupportedImageType: "UnsupportedImageTypeException",
  Validation: "ValidationException",
  InvalidParameter: "InvalidParameterException",
};

/** Runs a ScanService call, turning its typed errors into ECR's. */
async function engine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ScanError) throw new AwsError(SCAN_ERRORS[e.code] ?? "ValidationException", e.message);
    throw e;
  }
}

const putRegistryInput = z.object({
  scanType: z.enum(["BASIC", "ENHANCED"]).optional(),
  rules: z
    .array(
      z.object({
        scanFrequency: z.enum(["SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"]),
        repositoryFilters: z.array(repositoryFilter).max(100),
      }),
    )
    .max(2)
    .optional(),
});

const isOffset = (k: unknown): k is number => typeof k === "number" && Number.isInteger(k) && k >= 0;

export function scanningOperations(d: EcrDeps): Record<string, Operation> {
  const scan = (): ScanService => requireScan(d);
  return {
    async GetRegistryScanningConfiguration(raw) {
      parse(z.object({}), raw);
      const c = await engine(() => scan().getRegistryScanningConfiguration());
      return { registryId: d.accountId, scanningConfiguration: c };
    },

    async PutRegistryScanningConfiguration(raw) {
      const input = parse(putRegistryInput, raw);
      const c = await engine(() =>
        scan().putRegistryScanningConfiguration({
          scanType: input.scanType ?? "BASIC",
          rules: input.rules ?? [],
        }),
      );
      return { registryScanningConfiguration: c };
    },

    async BatchGetRepositoryScanningConfiguration(raw) {
      const input = parse(z.object({ repositoryNames: z.array(repositoryName).min(1).max(25) }), raw);
      const found: RepositoryRecord[] = [];
      const failures = [];
      for (const name of input.repositoryNames) {
        const r = await d.settings.repository(name);
        if (r) found.push(r);
        else
          failures.push({
            repositoryName: name,
            failureCode: "REPOSITORY_NOT_FOUND",
            failureReason: "REPOSITORY_NOT_FOUND",
          });
      }
      const configs = found.length
        ? await engine(() => scan().repositoryScanningConfiguration(found.map((r) => r.name)))
        : [];
      return {
        scanningConfigurations: configs.map((c) => ({
          repositoryArn: repositoryArn(d, c.repositoryName),
          repositoryName: c.repositoryName,
          // The repository-level flag is ours (ECR keeps it apart from the registry rules).
          scanOnPush: found.find((r) => r.name === c.repositoryName)?.scanOnPush ?? c.scanOnPush,
          scanFrequency: c.scanFrequency,
          appliedScanFilters: c.appliedScanFilters,
        })),
        failures,
      };
    },

    async StartImageScan(raw) {
      const input = parse(z.object({ registryId: registryId.optional(), repositoryName, imageId }), raw);
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const img = await requireImage(d, repo, input.imageId);
      const state = await engine(() => scan().startImageScan(repo.name, img.digest));
      return {
        registryId: d.accountId,
        repositoryName: repo.name,
        imageId: {
          imageDigest: img.digest,
          ...(input.imageId.imageTag !== undefined ? { imageTag: input.imageId.imageTag } : {}),
        },
        imageScanStatus: {
          status: state.status,
          ...(state.description ? { description: state.description } : {}),
        },
      };
    },

    async DescribeImageScanFindings(raw) {
      const input = parse(
        z.object({
          registryId: registryId.optional(),
          repositoryName,
          imageId,
          nextToken: nextToken.optional(),
          maxResults: maxResults.optional(),
        }),
        raw,
      );
      checkRegistryId(d, input.registryId);
      const repo = await requireRepository(d, input.repositoryName);
      const img = await requireImage(d, repo, input.imageId);
      const s = scan();
      const state = await engine(() => s.imageScanState(repo.name, img.digest));
      if (!state) {
        throw new AwsError(
          "ScanNotFoundException",
          `Image scan does not exist for the image with '{imageDigest:'${img.digest}'}' in the repository with name '${repo.name}' in the registry with id '${d.accountId}'`,
        );
      }
      const imageIdOut = {
        imageDigest: img.digest,
        ...(input.imageId.imageTag !== undefined ? { imageTag: input.imageId.imageTag } : {}),
      };
      const base = {
        registryId: d.accountId,
        repositoryName: repo.name,
        imageId: imageIdOut,
        imageScanStatus: {
          status: state.status,
          ...(state.description ? { description: state.description } : {}),
        },
      };
      // A scan still running (or failed) has no findings yet: status only, as ECR answers.
      if (state.completedAt === undefined) return base;
      const result = await engine(() => s.imageScanFindings(repo.name, img.digest));
      const offset = decodeToken(input.nextToken, isOffset) ?? 0;
      const limit = input.maxResults ?? 100;
      const slice = result.findings.slice(offset, offset + limit);
      const lifecycles = result.lifecycles?.slice(offset, offset + limit);
      const enhanced = result.state.scanType === "ENHANCED";
      return {
        ...base,
        imageScanFindings: {
          imageScanCompletedAt: epochSeconds(result.state.completedAt ?? state.completedAt),
          ...(result.state.vulnerabilitySourceUpdatedAt !== undefined
            ? { vulnerabilitySourceUpdatedAt: epochSeconds(result.state.vulnerabilitySourceUpdatedAt) }
            : {}),
          findingSeverityCounts: result.severityCounts,
          ...(enhanced
            ? {
                enhancedFindings: slice.map((f, i) =>
                  enhancedFinding(d, repo.name, img.tags, result.state, f, lifecycles?.[i]),
                ),
              }
            : { findings: slice.map(basicFinding) }),
        },
        ...(offset + limit < result.findings.length ? { nextToken: encodeToken(offset + limit) } : {}),
      };
    },
  };
}
