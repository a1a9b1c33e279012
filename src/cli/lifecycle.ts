import { loadConfig } from "../config/load.js";
import { ConfigError } from "../core/errors.js";
import { createLogger } from "../core/logger.js";
import { VexReferrers } from "../findings/vex-referrers.js";
import { createScanService } from "../main.js";
import type { RepositoryRun } from "../policy/lifecycle/service.js";
import { LifecycleService } from "../policy/lifecycle/service.js";
import { RegistryService } from "../registry/service.js";
import { RepositorySettingsService } from "../settings/service.js";
import { openStores } from "../storage/open.js";

/**
 * `drydock lifecycle run [--dry-run] [--repository NAME]` (options: main.ts): applies the ECR
 * lifecycle policies now, as the server's schedule does (docs/lifecycle.md), and prints what
 * each repository's rules expired (or, with --dry-run, would expire). Deletions go through the
 * registry's delete path with the server's deletion hooks (scans forgotten, findings closed,
 * VEX referrers' effects withdrawn) and an `ECR Image Action` DELETE event each; safe while the
 * server runs (one transaction per image).
 */

export interface LifecycleRunOptions {
  config?: string;
  data?: string;
  dryRun?: boolean;
  repository?: string;
  json?: boolean;
}

export async function lifecycleRun(opts: LifecycleRunOptions): Promise<void> {
  const config = loadConfig({ file: opts.config, flags: { data: opts.data } });
  const log = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const stores = await openStores(config, { schema: config.storage.meta.url ? "refuse" : "migrate" });
  const aws = { accountId: config.aws.accountId, region: config.aws.region };
  const settings = new RepositorySettingsService(stores.meta);
  // The deletion hooks of the server's registry (src/main.ts): only the scan engine's and the
  // VEX referrers' act on a deletion. The scan service is built, never started.
  const scan = createScanService(config, stores, settings, log);
  try {
    const registry = new RegistryService(stores.meta, stores.blobs, { ...config.registry, aws }, [
      settings.registryHooks(),
      scan.service.registryHooks(),
      new VexReferrers(stores.blobs, { registry: aws, log }).registryHooks(),
    ]);
    const lifecycle = new LifecycleService(stores.meta, settings, { registry, log });
    const runs = await lifecycle.run({ repository: opts.repository, dryRun: opts.dryRun });
    if (runs === null) throw new ConfigError(`no repository named ${opts.repository}`);
    process.stdout.write(opts.json ? JSON.stringify(runs, null, 2) + "\n" : formatRuns(runs, !!opts.dryRun));
    if (runs.some((r) => r.error !== undefined)) process.exitCode = 1;
  } finally {
    scan.vulndb.close();
    await stores.close();
  }
}

/** Per repository and rule: the images expired (or that would be), oldest first. */
export function formatRuns(runs: readonly RepositoryRun[], dryRun: boolean): string {
  if (!runs.length) return "no lifecycle policy to run\n";
  const verb = dryRun ? "would expire" : "expired";
  const lines: string[] = [];
  for (const r of runs) {
    if (r.error !== undefined) {
      lines.push(`${r.repository}: policy not evaluated: ${r.error}`);
      continue;
    }
    const done = dryRun ? "" : `, ${r.deletedManifests} manifests deleted`;
    const skipped = r.skipped.length ? `, ${r.skipped.length} left alone (changed since evaluated)` : "";
    lines.push(`${r.repository}: ${r.expired.length} images ${verb}${done}${skipped}`);
    const byRule = new Map<number, RepositoryRun["expired"]>();
    for (const e of r.expired) byRule.set(e.rulePriority, [...(byRule.get(e.rulePriority) ?? []), e]);
    for (const [rule, list] of byRule) {
      lines.push(`  rule ${rule}: ${list.length} ${verb}`);
      for (const e of list) {
        const tags = e.tags.length ? ` [${e.tags.join(", ")}]` : " (untagged)";
        const attached = e.attached.length ? ` (+${e.attached.length} attached)` : "";
        const skip = r.skipped.includes(e.digest) ? " (left alone)" : "";
        lines.push(`    ${e.digest}${tags} pushed ${new Date(e.pushedAt).toISOString()}${attached}${skip}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}
