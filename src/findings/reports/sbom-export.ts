import type { Distro, Package } from "../../catalog/types.js";
import type { RegistryIdentity } from "../../api/inspector2/finding.js";
import { matchesResourceStrings } from "../../api/inspector2/coverage.js";
import type { ResourceFilterCriteria, SbomFormat } from "../../api/inspector2/shapes.js";
import { StoreImageSource } from "../../image/sources/store.js";
import type { ImageInventory } from "../../image/types.js";
import { toCycloneDxJson } from "../../sbom/cyclonedx.js";
import { toSpdxJson } from "../../sbom/spdx.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore } from "../../storage/meta/store.js";

/**
 * SBOM exports: which images a ResourceFilterCriteria selects, and one image's SBOM in the
 * export's format, from its stored inventory (storage/meta/inventory-store.ts) and its manifest
 * and config (the blob store): no layer is read.
 */

/** An image as ResourceFilterCriteria see it. */
export interface ImageResource {
  accountId: string;
  /** `arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex>` */
  resourceId: string;
  repositoryName: string;
  tags: readonly string[];
}

type ResourceStringFilter = { comparison: "EQUALS" | "NOT_EQUALS"; value: string };

/**
 * Whether the criteria select the image: keys ANDed; `resourceType` sees
 * AWS_ECR_CONTAINER_IMAGE; an image has no Lambda function name (EQUALS never holds, NOT_EQUALS
 * always does) and no EC2 or Lambda tags (a tag filter selects no image).
 */
export function matchesResourceCriteria(img: ImageResource, c: ResourceFilterCriteria | undefined): boolean {
  if (!c) return true;
  if (c.ec2InstanceTags !== undefined || c.lambdaFunctionTags !== undefined) return false;
  const checks: [ResourceStringFilter[] | undefined, readonly string[]][] = [
    [c.accountId, [img.accountId]],
    [c.resourceId, [img.resourceId]],
    [c.resourceType, ["AWS_ECR_CONTAINER_IMAGE"]],
    [c.ecrRepositoryName, [img.repositoryName]],
    [c.ecrImageTags, img.tags],
    [c.lambdaFunctionName, []],
  ];
  return checks.every(
    ([filters, values]) => filters === undefined || matchesResourceStrings(values, filters),
  );
}

/** Whether some image of the repository may match (the repository-level keys alone). */
export function mayMatchRepository(
  registry: RegistryIdentity,
  repositoryName: string,
  c: ResourceFilterCriteria | undefined,
): boolean {
  if (!c) return true;
  if (c.ecrRepositoryName && !matchesResourceStrings([repositoryName], c.ecrRepositoryName)) return false;
  if (c.accountId && !matchesResourceStrings([registry.accountId], c.accountId)) return false;
  return true;
}

/**
 * One image's SBOM (CycloneDX 1.4 or SPDX 2.3 JSON), or null when the image has no stored
 * inventory (never scanned, or deleted since) or is an index (its platform images have theirs).
 * The image is named by its ECR-style URI, `<account>.dkr.ecr.<region>.amazonaws.com/<repo>@<digest>`,
 * as the ECR API names repositories; the CycloneDX document also carries the metadata
 * properties Inspector's exports have (imageId, architecture, accountId, resourceType).
 */
export async function imageSbom(
  meta: MetaStore,
  blobs: BlobStore,
  registry: RegistryIdentity,
  repository: { id: number; name: string },
  digest: string,
  format: SbomFormat,
  now: Date,
): Promise<string | null> {
  const stored = await meta.inventories.image(repository.id, digest);
  if (!stored) return null;
  const resolved = await new StoreImageSource(meta, blobs, repository.id, repository.name, digest).resolve();
  if (resolved.index || resolved.images.length !== 1) return null;
  const img = resolved.images[0]!;
  const inv: ImageInventory = {
    image: {
      reference: `${registry.accountId}.dkr.ecr.${registry.region}.amazonaws.com/${repository.name}@${digest}`,
      manifestDigest: digest,
      mediaType: img.manifestMediaType,
      configDigest: img.configDigest,
      platform: img.platform,
      layers: img.layers,
    },
    distro: stored.distro ? (JSON.parse(stored.distro) as Distro) : null,
    packages: stored.segments.flatMap((s) => s.packages.map((j) => JSON.parse(j) as Package)),
    problems: [],
  };
  if (format === "SPDX_2_3") return toSpdxJson(inv, { now });
  return toCycloneDxJson(inv, {
    now,
    cyclonedxVersion: "1.4",
    metadataProperties: [
      ["imageId", digest],
      ["architecture", img.platform.architecture],
      ["accountId", registry.accountId],
      ["resourceType", "AWS_ECR_CONTAINER_IMAGE"],
    ],
  });
}
