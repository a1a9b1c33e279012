import type { AwsLoginTokens } from "../../auth/aws-login.js";
import type { LifecycleService } from "../../policy/lifecycle/service.js";
import type { RegistryService } from "../../registry/service.js";
import type { ScanService } from "../../scan/types.js";
import { AwsError } from "../aws-json.js";
import { imageNotFound, repositoryNotFound, type ImageId, type Registry } from "./shapes.js";
import type { RepositorySettingsService } from "../../settings/service.js";
import type { ImageRecord, RepositoryRecord } from "../../storage/meta/store.js";

/** What the ECR operations work with. */
export interface EcrDeps extends Registry {
  settings: RepositorySettingsService;
  registry: RegistryService;
  /** The scan engine; undefined until it is wired in (scanning operations then fail clearly). */
  scan?: ScanService;
  /** Lifecycle previews (src/policy/lifecycle); the policies themselves are settings. */
  lifecycle?: LifecycleService;
  loginTokens: AwsLoginTokens;
  /** The registry endpoint returned by GetAuthorizationToken (publicUrl or from Host). */
  publicUrl?: string;
}

export async function requireRepository(d: EcrDeps, name: string): Promise<RepositoryRecord> {
  const repo = await d.settings.repository(name);
  if (!repo) throw repositoryNotFound(d, name);
  return repo;
}

export function requireScan(d: EcrDeps): ScanService {
  if (!d.scan) throw new AwsError("ValidationException", "Image scanning is not available on this registry.");
  return d.scan;
}

/**
 * The image an ImageIdentifier names: by digest, by tag, or both (which must agree).
 * Returns null when it does not exist; throws InvalidParameterException when both are missing.
 */
export async function findImage(
  d: EcrDeps,
  repo: RepositoryRecord,
  id: ImageId,
): Promise<ImageRecord | null> {
  if (id.imageDigest === undefined && id.imageTag === undefined) {
    throw new AwsError(
      "InvalidParameterException",
      "Invalid parameter at 'imageId': an imageDigest or an imageTag is required",
    );
  }
  return d.registry.findImage(repo.name, { digest: id.imageDigest, tag: id.imageTag });
}

export async function requireImage(d: EcrDeps, repo: RepositoryRecord, id: ImageId): Promise<ImageRecord> {
  const img = await findImage(d, repo, id);
  if (!img) throw imageNotFound(d, repo.name, id);
  return img;
}
