import type { AwsLoginTokens } from "../../auth/aws-login.js";
import type { RegistryService } from "../../registry/service.js";
import type { ScanService } from "../../scan/types.js";
import { AwsError } from "../aws-json.js";
import { imageNotFound, repositoryNotFound, type ImageId, type Registry } from "./shapes.js";
import type { EcrStore, ImageRecord, RepositoryRecord } from "./store.js";

/** What the ECR operations work with. */
export interface EcrDeps extends Registry {
  store: EcrStore;
  registry: RegistryService;
  /** The scan engine; undefined until it is wired in (scanning operations then fail clearly). */
  scan?: ScanService;
  loginTokens: AwsLoginTokens;
  /** The auth user a signing access key acts as for registry logins ("" = none/open). */
  loginSubject(accessKeyId: string | undefined): string;
  /** The registry endpoint returned by GetAuthorizationToken (publicUrl or from Host). */
  publicUrl?: string;
}

export async function requireRepository(d: EcrDeps, name: string): Promise<RepositoryRecord> {
  const repo = await d.store.repository(name);
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
export function findImage(images: ImageRecord[], id: ImageId): ImageRecord | null {
  if (id.imageDigest === undefined && id.imageTag === undefined) {
    throw new AwsError(
      "InvalidParameterException",
      "Invalid parameter at 'imageId': an imageDigest or an imageTag is required",
    );
  }
  const img =
    id.imageDigest !== undefined
      ? images.find((i) => i.digest === id.imageDigest)
      : images.find((i) => i.tags.includes(id.imageTag!));
  if (!img) return null;
  if (id.imageTag !== undefined && !img.tags.includes(id.imageTag)) return null;
  return img;
}

export async function requireImage(d: EcrDeps, repo: RepositoryRecord, id: ImageId): Promise<ImageRecord> {
  const img = findImage(await d.store.images(repo.id), id);
  if (!img) throw imageNotFound(d, repo.name, id);
  return img;
}
