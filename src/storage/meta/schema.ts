import type { Generated } from "kysely";

/**
 * The metadata schema, described once here (migrations in ./migrations.ts create it).
 * Times are epoch milliseconds. Digests are `algorithm:hex` strings.
 *
 * repositories          one row per repository name (`team/app/api`).
 * blobs                 every complete blob the store holds, once per digest, whatever the
 *                       repositories; `last_used_at` is refreshed by uploads, mounts and
 *                       existence checks so that GC spares blobs a push is about to reference.
 * repository_blobs      blob links: a blob is readable in a repository only when linked there
 *                       (uploaded, mounted, or referenced by one of its manifests).
 * manifests             manifests and indexes per repository. The bytes live in the blob store
 *                       under the same digest. `subject`/`artifact_type` feed the referrers API;
 *                       `annotations` is the manifest's annotations JSON (for referrer descriptors).
 * manifest_references   what each manifest references: its config and layers (kind 'blob'),
 *                       the manifests of an index (kind 'manifest'). GC marks from here.
 * tags                  tag → manifest digest, per repository.
 * uploads               open upload sessions (their bytes are in the blob store's upload area).
 * ecr_repository_settings  ECR settings of a repository (src/api/ecr): scan_on_push (0/1),
 *                       image_tag_mutability (MUTABLE, IMMUTABLE, *_WITH_EXCLUSION), and JSON
 *                       texts of the tag-mutability exclusion filters, encryption configuration
 *                       and ECR resource tags. No row = ECR defaults (a repository created by a
 *                       push); the creation time is repositories.created_at.
 */
export interface Database {
  repositories: {
    id: Generated<number>;
    name: string;
    created_at: number;
  };
  blobs: {
    digest: string;
    size: number;
    created_at: number;
    last_used_at: number;
  };
  repository_blobs: {
    repository_id: number;
    digest: string;
    created_at: number;
  };
  manifests: {
    repository_id: number;
    digest: string;
    media_type: string;
    artifact_type: string | null;
    subject: string | null;
    size: number;
    annotations: string | null;
    created_at: number;
  };
  manifest_references: {
    repository_id: number;
    parent: string;
    child: string;
    kind: "blob" | "manifest";
  };
  tags: {
    repository_id: number;
    name: string;
    digest: string;
    updated_at: number;
  };
  uploads: {
    id: string;
    repository_id: number;
    created_at: number;
    updated_at: number;
  };
  ecr_repository_settings: {
    repository_id: number;
    scan_on_push: number;
    image_tag_mutability: string;
    tag_mutability_exclusions: string | null;
    encryption: string | null;
    tags: string | null;
    updated_at: number;
  };
  scan_settings: {
    key: string;
    value: string;
    updated_at: number;
  };
  image_scans: {
    repository_id: number;
    digest: string;
    scan_type: "BASIC" | "ENHANCED";
    status: string;
    description: string | null;
    /** Epoch ms of the start of the latest scan (push, manual or continuous). */
    last_scan_at: number;
    completed_at: number | null;
    vulnerability_source_updated_at: number | null;
    /** JSON `{SEVERITY: count}` of the last completed scan. */
    severity_counts: string | null;
    updated_at: number;
  };
  scan_findings: {
    repository_id: number;
    digest: string;
    seq: number;
    vulnerability_id: string;
    severity: string;
    package_name: string;
    /** The Finding JSON (match/types.ts). */
    json: string;
  };
  scan_jobs: {
    id: Generated<number>;
    repository_id: number;
    digest: string;
    scan_type: "BASIC" | "ENHANCED";
    /** Why it was queued: push, manual, continuous, index (fan out to the members). */
    reason: string;
    state: "queued" | "running" | "done" | "failed";
    attempts: number;
    run_after: number;
    lease_until: number | null;
    last_error: string | null;
    created_at: number;
    updated_at: number;
  };
  event_log: {
    seq: Generated<number>;
    id: string;
    time: number;
    source: string;
    detail_type: string;
    /** The whole EventBridge envelope as JSON. */
    json: string;
  };
}
