/**
 * The console's image views: a repository's images and one image's details, findings, layers,
 * packages, referrers and downloads (/api/console/images...). Repository names contain slashes,
 * so the repository is a query parameter: `GET /api/console/images?repository=team/app`,
 * `GET /api/console/images/<digest>?repository=team/app`, `.../<digest>/findings?repository=...`.
 * Type-only: imported by src/api/console/images.ts and web/src/pages/images/.
 */
import type { SeverityCountsView } from "./repositories.js";

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** The scan of an image: ECR's imageScanStatus (null status: never scanned). */
export interface ScanStatusView {
  status: string | null;
  description: string | null;
  scanType: "BASIC" | "ENHANCED";
  /** Epoch ms: the start of the latest scan and the end of the last completed one. */
  lastScanAt: number | null;
  completedAt: number | null;
}

export interface PlatformView {
  os: string;
  architecture: string;
  variant?: string;
  /** For an index: the platform manifest's digest (its own details page). */
  digest?: string;
}

export interface ImageView {
  digest: string;
  tags: string[];
  mediaType: string;
  artifactType: string | null;
  /** Epoch ms of the first push (ECR's imagePushedAt). */
  pushedAt: number;
  lastPulledAt: number | null;
  /** Config and layers (an index: its largest platform's). */
  size: number;
  /** An image's platform (from its config), or an index's platforms (from its manifest list). */
  platforms: PlatformView[];
  kind: "image" | "index" | "artifact";
  scan: ScanStatusView;
  /** ACTIVE findings by severity (the ECR console's Vulnerabilities column). */
  findings: SeverityCountsView;
  /** A cosign `.sig` tag or a signature referrer (cosign, Notation) exists: not a verification. */
  signed: boolean;
}

/**
 * Sorts of a repository's images. By findings of one severity (the maintained counts); there is
 * no sort by all findings together: summing each image's counts of a 100,000-image repository
 * to sort them took over 300 ms.
 */
export const IMAGE_SORTS = [
  "pushedAt",
  "lastPull",
  "digest",
  "tag",
  "critical",
  "high",
  "medium",
  "low",
] as const;
export type ImageSort = (typeof IMAGE_SORTS)[number];
export type TagFilter = "TAGGED" | "UNTAGGED" | "ANY";

export interface ImageDetailsView extends ImageView {
  repository: string;
  /** The images that reference this one as their subject, by kind. */
  referrers: number;
  /** Suppressed findings by severity. */
  suppressed: SeverityCountsView;
  /** Whether a stored inventory (the packages) exists. */
  inventory: boolean;
  /** Downloads of this image (relative to /api/console). */
  downloads: { label: string; href: string }[];
}

export interface FindingView {
  id: string;
  vulnerabilityId: string;
  severity: string;
  title: string | null;
  packageName: string;
  packageVersion: string;
  ecosystem: string;
  /** Where the package was found (the same package at two paths is two findings), when known. */
  packagePath: string | null;
  /** diffID of the layer that brought the package. */
  layer: string | null;
  fixedVersion: string | null;
  fixAvailable: "YES" | "NO" | "PARTIAL";
  epss: number | null;
  kev: boolean;
  status: "ACTIVE" | "SUPPRESSED" | "CLOSED";
  firstObservedAt: number;
  lastObservedAt: number;
}

export const FINDING_SORTS = [
  "severity",
  "vulnerabilityId",
  "package",
  "epss",
  "firstObserved",
  "fixAvailable",
  "status",
] as const;
export type FindingSort = (typeof FINDING_SORTS)[number];

export interface LayerView {
  /** 0-based position in the image's layers. */
  index: number;
  digest: string;
  diffId: string | null;
  size: number;
  /** The config history's created_by for this layer (empty_layer entries skipped). */
  command: string | null;
  createdAt: string | null;
  packages: number;
  /** ACTIVE findings by severity of the packages this layer brought. */
  findings: SeverityCountsView;
}

export interface LayersView {
  layers: LayerView[];
  /** History entries that made no layer (ENV, CMD, ...), in order: context for the commands. */
  emptyHistory: { createdBy: string; index: number }[];
}

export interface PackageView {
  name: string;
  version: string;
  ecosystem: string;
  purl: string | null;
  path: string | null;
  licenses: string[];
  /** diffID of the layer that brought it, and that layer's position. */
  layer: string | null;
  layerIndex: number | null;
  /** ACTIVE findings of this package. */
  findings: number;
}

export interface ReferrerView {
  digest: string;
  artifactType: string | null;
  mediaType: string;
  kind: "signature" | "sbom" | "vex" | "attestation" | "other";
  /** How it is attached: an OCI referrer (`subject`) or a cosign tag (`sha256-….sig`). */
  via: "referrer" | "tag";
  tag: string | null;
  createdAt: number;
  size: number;
}
