import type { MetaStore } from "../storage/meta/store.js";

/** A manifest just written (and the tag it was pushed by, if any). */
export interface ManifestStored {
  repository: string;
  repositoryId: number;
  digest: string;
  mediaType: string;
  subject: string | null;
  tag?: string;
}

/** A pull of a manifest was recorded (at most once per PULL_RECORD_INTERVAL_MS per manifest). */
export interface ManifestPulled {
  repository: string;
  repositoryId: number;
  digest: string;
  mediaType: string;
  /** The pull time recorded. */
  at: number;
}

/** A manifest about to be served by GET or HEAD (or ECR BatchGetImage): what a pull gate decides on. */
export interface ManifestServed {
  repository: string;
  repositoryId: number;
  digest: string;
  mediaType: string;
  /** The manifest's `subject` (a referrer), or null. */
  subject: string | null;
  /** The tag the request named; absent when it named the digest. */
  tag?: string;
  /** The authenticated registry user; null on an open registry, undefined when not a registry request. */
  user?: string | null;
  /** An image pull (GET, BatchGetImage), not a HEAD. */
  pull: boolean;
}

/** A manifest (by digest) or only a tag (`tag` set) about to be deleted; its rows are still there. */
export interface ManifestDeleted {
  repository: string;
  repositoryId: number;
  digest: string;
  tag?: string;
}

/**
 * What the services that shape the registry's behaviour (settings, scanning, later policies)
 * plug in at construction. Every hook runs inside the transaction of the change, so what it
 * writes (events, queued scans) commits or rolls back with it; an error it throws fails the
 * request and stores nothing (a RegistryError reaches the client with its code).
 */
export interface RegistryHooks {
  /** A repository was just created by a push, in the creating transaction. */
  repositoryCreated?(tx: MetaStore, e: { repository: string; repositoryId: number }): Promise<void>;
  /** Before a push moves an existing tag to another manifest (tag immutability). */
  beforeTagMove?(
    tx: MetaStore,
    e: { repository: string; repositoryId: number; tag: string; current: string; next: string },
  ): Promise<void>;
  /** Before a manifest is served by GET or HEAD (pull gates); throw to refuse. */
  beforeManifestServed?(e: ManifestServed): Promise<void>;
  /** After a manifest is stored, in its transaction. */
  manifestStored?(tx: MetaStore, e: ManifestStored): Promise<void>;
  /** Before a manifest or a tag is deleted, in the deleting transaction. */
  manifestDeleted?(tx: MetaStore, e: ManifestDeleted): Promise<void>;
  /** After a pull is recorded, in its transaction (the rescan window's pull date moved). */
  manifestPulled?(tx: MetaStore, e: ManifestPulled): Promise<void>;
}

/** Hooks of several services as one: each runs in order; the first error stops the change. */
export function combineHooks(list: RegistryHooks[]): RegistryHooks {
  const each =
    <K extends keyof RegistryHooks>(k: K) =>
    async (...args: unknown[]) => {
      for (const h of list) {
        const fn = h[k] as ((...a: unknown[]) => Promise<void>) | undefined;
        if (fn) await fn.apply(h, args);
      }
    };
  return {
    repositoryCreated: each("repositoryCreated"),
    beforeTagMove: each("beforeTagMove"),
    beforeManifestServed: each("beforeManifestServed"),
    manifestStored: each("manifestStored"),
    manifestDeleted: each("manifestDeleted"),
    manifestPulled: each("manifestPulled"),
  };
}
