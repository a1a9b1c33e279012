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
}
