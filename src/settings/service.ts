import { RegistryError } from "../core/errors.js";
import type { RegistryHooks } from "../registry/hooks.js";
import { parseLifecyclePolicy } from "../policy/lifecycle/grammar.js";
import type {
  MetaStore,
  RepositoryRecord,
  SettingsUpdate,
  StoredLifecyclePolicy,
} from "../storage/meta/store.js";
import { isImmutableTag } from "./tags.js";

export type { RepositoryRecord, SettingsUpdate, TagMutability } from "../storage/meta/store.js";

/**
 * Repository settings as a service of their own: scan on push, tag mutability (and later
 * lifecycle and pull policies). The ECR API changes them, the scan service reads them, and the
 * registry enforces tag immutability through the hook this service gives it at construction.
 */
export class RepositorySettingsService {
  constructor(private readonly meta: MetaStore) {}

  repository(name: string, m: MetaStore = this.meta): Promise<RepositoryRecord | null> {
    return m.settings.repository(name);
  }

  repositories(after: string | undefined, limit: number) {
    return this.meta.settings.repositories(after, limit);
  }

  /**
   * Creates a repository with its settings; false when the name exists. `created` runs in the
   * creating transaction (the scan service announces the new repository there).
   */
  createRepository(
    name: string,
    settings: SettingsUpdate,
    created?: (tx: MetaStore) => Promise<void>,
  ): Promise<boolean> {
    return this.meta.tx(async (tx) => {
      const ok = await tx.settings.createRepository(name, settings);
      if (ok && created) await created(tx);
      return ok;
    });
  }

  update(repositoryId: number, update: SettingsUpdate): Promise<void> {
    return this.meta.settings.update(repositoryId, update);
  }

  /** The repository's lifecycle policy (GetLifecyclePolicy; src/policy/lifecycle), or null. */
  lifecyclePolicy(repositoryId: number): Promise<StoredLifecyclePolicy | null> {
    return this.meta.lifecycle.policy(repositoryId);
  }

  /**
   * Validates a lifecycle policy text (LifecyclePolicyError, ECR's InvalidParameterException
   * naming the rule and field) and stores it as the repository's policy.
   */
  async putLifecyclePolicy(repositoryId: number, text: string): Promise<void> {
    parseLifecyclePolicy(text);
    await this.meta.lifecycle.putPolicy(repositoryId, text);
  }

  /** Deletes the repository's lifecycle policy; returns it, or null when there was none. */
  deleteLifecyclePolicy(repositoryId: number): Promise<StoredLifecyclePolicy | null> {
    return this.meta.lifecycle.deletePolicy(repositoryId);
  }

  /** The repository-level scan-on-push flag (false when never set). */
  async scanOnPush(m: MetaStore, repositoryId: number): Promise<boolean> {
    return (await m.settings.repositoryById(repositoryId))?.scanOnPush ?? false;
  }

  /**
   * The registry hook that refuses to move an immutable tag. It runs in the manifest write's
   * transaction after the repository is locked, so the decision holds across nodes.
   */
  registryHooks(): Pick<RegistryHooks, "beforeTagMove"> {
    return {
      beforeTagMove: async (tx, e) => {
        const repo = await tx.settings.repositoryById(e.repositoryId);
        if (!repo || !isImmutableTag(repo.imageTagMutability, repo.tagMutabilityExclusions, e.tag)) return;
        throw new RegistryError(
          "TAG_INVALID",
          `The image tag '${e.tag}' already exists in the '${e.repository}' repository and cannot be overwritten because the repository is immutable.`,
        );
      },
    };
  }
}
