import { randomUUID } from "node:crypto";
import type { Logger } from "../../core/logger.js";
import type { Commit, Job, JobHandler } from "../../jobs/worker.js";
import type { RegistryService } from "../../registry/service.js";
import type { RepositorySettingsService } from "../../settings/service.js";
import type { LifecycleStore } from "../../storage/meta/lifecycle-store.js";
import type { MetaStore, RepositoryRecord, StoredLifecyclePreview } from "../../storage/meta/store.js";
import { evaluateLifecyclePolicy, type LifecycleExpiry } from "./evaluate.js";
import { parseLifecyclePolicy } from "./grammar.js";

/**
 * Lifecycle policies at work (docs/lifecycle.md): runs (every repository with a policy, on the
 * `lifecycle.intervalHours` schedule or `drydock lifecycle run`), dry runs, and previews
 * (StartLifecyclePolicyPreview: IN_PROGRESS at once, computed by a job on the job queue).
 *
 * A run deletes through the registry's delete path (RegistryService.deleteManifests): each
 * expired image, with the referrers, cosign attachments and index children that go with it,
 * in one transaction with an `ECR Image Action` DELETE event per manifest and the deletion
 * hooks (findings closed, queued scans dropped); blobs are left to garbage collection. A crash
 * mid-run leaves every image whole or gone, and the next run carries on. An image whose tags
 * changed between the evaluation and its deletion (a push moved a tag onto it or off it) is
 * left alone this time.
 */

export const LIFECYCLE_PREVIEW_JOB = "lifecycle-preview";
/** A preview IN_PROGRESS for longer than this (its job died) may be replaced by a new one. */
const PREVIEW_STALE_MS = 15 * 60_000;
const PAGE = 200;

interface PreviewJob {
  repositoryId: number;
  repository: string;
  token: string;
}

export interface RepositoryRun {
  repository: string;
  /** What the policy expires (dry run: would expire), in rule order, oldest first. */
  expired: LifecycleExpiry[];
  /** Manifests deleted (the images and what went with them); 0 on a dry run. */
  deletedManifests: number;
  /** Expired images left alone because they changed since the evaluation. */
  skipped: string[];
  /** Why the repository was not evaluated (its stored policy no longer parses), if so. */
  error?: string;
}

export type StartPreviewResult =
  { ok: true; policyText: string } | { ok: false; reason: "no-policy" | "in-progress" };

export class LifecycleService {
  /** Called after a preview job is queued (main.ts wakes the job worker). */
  onQueued?: () => void;
  private readonly now: () => number;

  constructor(
    private readonly meta: MetaStore,
    private readonly settings: RepositorySettingsService,
    private readonly o: { registry: RegistryService; now?: () => number; log?: Logger },
  ) {
    this.now = o.now ?? Date.now;
  }

  /** What `policyText` expires in a repository now (nothing is deleted). */
  async evaluate(repositoryId: number, policyText: string): Promise<LifecycleExpiry[]> {
    const policy = parseLifecyclePolicy(policyText);
    const images = await this.meta.lifecycle.images(repositoryId);
    return evaluateLifecyclePolicy(policy, images, this.now());
  }

  /**
   * Runs the policies of one repository (null: no such repository) or of every repository
   * that has one. `dryRun`: evaluate only (nothing deleted, lastEvaluatedAt unchanged).
   */
  async run(o: { repository?: string; dryRun?: boolean } = {}): Promise<RepositoryRun[] | null> {
    if (o.repository !== undefined) {
      const repo = await this.settings.repository(o.repository);
      if (!repo) return null;
      const policy = await this.meta.lifecycle.policy(repo.id);
      return policy ? [await this.runOne(repo, policy.policyText, o.dryRun === true)] : [];
    }
    const out: RepositoryRun[] = [];
    for (let after: string | undefined; ;) {
      const page = await this.meta.lifecycle.policies(after, PAGE);
      for (const p of page.items) {
        const repo = await this.settings.repository(p.repository);
        if (repo) out.push(await this.runOne(repo, p.policyText, o.dryRun === true));
      }
      if (!page.more || !page.items.length) break;
      after = page.items[page.items.length - 1]!.repository;
    }
    return out;
  }

  private async runOne(repo: RepositoryRecord, policyText: string, dryRun: boolean): Promise<RepositoryRun> {
    const run: RepositoryRun = { repository: repo.name, expired: [], deletedManifests: 0, skipped: [] };
    try {
      run.expired = await this.evaluate(repo.id, policyText);
    } catch (err) {
      // Stored policies were validated when put: a failure here is a grammar change or a bug.
      run.error = (err as Error).message;
      this.o.log?.error({ err, repository: repo.name }, "lifecycle policy could not be evaluated");
      return run;
    }
    if (dryRun) return run;
    for (const e of run.expired) {
      const deleted = await this.o.registry.deleteManifests(repo.name, [...e.attached, e.digest], (tx, id) =>
        sameTags(tx, id, e.digest, e.tags),
      );
      if (!deleted.length) run.skipped.push(e.digest);
      run.deletedManifests += deleted.length;
    }
    await this.meta.lifecycle.markEvaluated(repo.id, policyText, this.now());
    if (run.expired.length)
      this.o.log?.info(
        {
          repository: repo.name,
          expired: run.expired.length,
          deletedManifests: run.deletedManifests,
          skipped: run.skipped.length,
        },
        "lifecycle policy applied",
      );
    return run;
  }

  // --- previews ------------------------------------------------------------------------------

  /**
   * Starts a preview of `policyText` (default: the stored policy; validated) as a job. Refused
   * while another preview of the repository is in progress.
   */
  async startPreview(repo: RepositoryRecord, policyText?: string): Promise<StartPreviewResult> {
    const text = policyText ?? (await this.meta.lifecycle.policy(repo.id))?.policyText;
    if (text === undefined) return { ok: false, reason: "no-policy" };
    parseLifecyclePolicy(text);
    const token = randomUUID();
    const started = await this.meta.tx(async (tx) => {
      if (!(await tx.lifecycle.startPreview(repo.id, token, text, this.now() - PREVIEW_STALE_MS)))
        return false;
      await tx.jobs.enqueue({
        kind: LIFECYCLE_PREVIEW_JOB,
        key: String(repo.id),
        payload: { repositoryId: repo.id, repository: repo.name, token } satisfies PreviewJob,
      });
      return true;
    });
    if (!started) return { ok: false, reason: "in-progress" };
    this.onQueued?.();
    return { ok: true, policyText: text };
  }

  preview(repositoryId: number): Promise<StoredLifecyclePreview | null> {
    return this.meta.lifecycle.preview(repositoryId);
  }

  /** A page of the repository's preview results (GetLifecyclePolicyPreview). */
  previewResults(repositoryId: number, o: Parameters<LifecycleStore["previewResults"]>[1]) {
    return this.meta.lifecycle.previewResults(repositoryId, o);
  }

  countPreviewResults(repositoryId: number): Promise<number> {
    return this.meta.lifecycle.countPreviewResults(repositoryId);
  }

  /** The job kinds of the preview (main.ts runs them on its job worker). */
  jobHandlers(): Record<string, JobHandler<PreviewJob>> {
    return {
      [LIFECYCLE_PREVIEW_JOB]: {
        run: (job) => this.runPreview(job),
        isTransient: () => true,
        failed: async (tx, job, reason) => {
          await tx.lifecycle.finishPreview(job.payload.repositoryId, job.payload.token, {
            error: `The preview could not be computed: ${reason}`.slice(0, 1000),
          });
        },
      },
    };
  }

  private async runPreview(job: Job<PreviewJob>): Promise<Commit> {
    const { repositoryId, token } = job.payload;
    const p = await this.meta.lifecycle.preview(repositoryId);
    if (!p || p.token !== token || p.status !== "IN_PROGRESS") return async () => undefined; // replaced
    const expired = await this.evaluate(repositoryId, p.policyText);
    return async (tx) => {
      await tx.lifecycle.finishPreview(repositoryId, token, {
        results: expired.map((e) => ({
          digest: e.digest,
          tags: [...e.tags],
          pushedAt: e.pushedAt,
          rulePriority: e.rulePriority,
        })),
      });
    };
  }
}

/** The lifecycle guard: the image is still there with the tags it was evaluated with. */
async function sameTags(tx: MetaStore, repositoryId: number, digest: string, tags: readonly string[]) {
  if (!(await tx.registry.manifest(repositoryId, digest))) return false;
  const now = await tx.registry.tagsOf(repositoryId, digest);
  const was = [...tags].sort();
  return now.length === was.length && [...now].sort().every((t, i) => t === was[i]);
}
