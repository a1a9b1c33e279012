import { writeFile } from "node:fs/promises";
import { dataPaths } from "../storage/paths.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../core/errors.js";
import { inventoriesOf } from "../image/analyze.js";
import { analyzeSource } from "../scan/engine.js";
import { InventoryCache } from "../image/cache.js";
import { platformString } from "../image/resolve.js";
import { openImageSource } from "../image/sources/index.js";
import type { ImageInventory, InventoryDocument } from "../image/types.js";
import { SBOM_FORMATS } from "./common.js";
import { terminalProgress } from "./progress.js";
import type { LayerLimits } from "../image/analyze-layer.js";

/** Exit code when a layer could not be read completely (corrupt, truncated, over a limit). */
export const EXIT_INCOMPLETE = 3;
/** Problems printed: at most this many per file and in all; the rest are counted (all are in --format json). */
const MAX_PRINTED_PER_FILE = 3;
const MAX_PRINTED_PROBLEMS = 20;

/**
 * Problems on stderr: layers that could not be read as errors, unreadable files as warnings, a
 * few lines per file and MAX_PRINTED_PROBLEMS in all, so that one garbage file or a pathological
 * image does not flood a terminal and hide the rest.
 */
export function reportProblems(doc: InventoryDocument, out: NodeJS.WritableStream = process.stderr): void {
  let printed = 0;
  let more = 0;
  for (const inv of inventoriesOf(doc)) {
    const incomplete = new Set(inv.incompleteLayers ?? []);
    const perFile = new Map<string, number>();
    for (const p of inv.problems) {
      const key = `${p.layer ?? ""} ${p.path} ${p.source}`;
      const seen = (perFile.get(key) ?? 0) + 1;
      perFile.set(key, seen);
      if (printed >= MAX_PRINTED_PROBLEMS || seen > MAX_PRINTED_PER_FILE) {
        more++;
        continue;
      }
      printed++;
      const fatal =
        p.source === "image" && p.path === "/" && p.layer !== undefined && incomplete.has(p.layer);
      out.write(
        `drydock: ${fatal ? "error" : "warning"}: ${p.path}: ${p.reason} (${p.source}${p.layer ? `, layer ${p.layer.slice(0, 19)}` : ""})\n`,
      );
    }
    for (const layer of incomplete) {
      out.write(`drydock: error: layer ${layer} could not be read completely: the inventory is incomplete\n`);
    }
  }
  if (more) out.write(`drydock: ... and ${more} more problems (all listed in --format json)\n`);
}

export interface ImageOptions {
  config?: string;
  data?: string;
  platform?: string;
  insecure?: boolean;
  creds?: string;
  cache?: boolean;
}

export function layerLimits(config: Config): LayerLimits {
  return {
    maxBytes: config.analysis.maxLayerBytes,
    maxEntries: config.analysis.maxLayerEntries,
    maxFileBytes: config.analysis.maxFileBytes,
    maxNestedArchiveBytes: config.analysis.maxNestedArchiveBytes,
  };
}

/** Reads an image reference into inventories, with the cache under the data directory. */
export async function inventoryFromCli(reference: string, opts: ImageOptions): Promise<InventoryDocument> {
  const config = loadConfig({ file: opts.config, flags: { data: opts.data } });
  let auth;
  if (opts.creds) {
    const i = opts.creds.indexOf(":");
    if (i <= 0) throw new ConfigError("--creds must be USER:PASSWORD");
    auth = { username: opts.creds.slice(0, i), password: opts.creds.slice(i + 1) };
  }
  const source = openImageSource(reference, { platform: opts.platform, insecure: opts.insecure, auth });
  const progress = terminalProgress();
  try {
    return await analyzeSource(source, {
      scope: "all",
      limits: layerLimits(config),
      cache: opts.cache === false ? undefined : new InventoryCache(dataPaths(config.data).layerCache),
      layerConcurrency: config.analysis.concurrency || undefined,
      progress,
    });
  } finally {
    progress?.end();
    await source.close();
  }
}

/** The platform image that single-image formats describe: --platform, else the host's, else the first. */
export function pickInventory(doc: InventoryDocument, platform?: string): ImageInventory {
  const all = inventoriesOf(doc);
  if (all.length === 1 || platform) return all[0]!;
  const host = `linux/${process.arch === "x64" ? "amd64" : process.arch}`;
  return all.find((i) => platformString(i.image.platform).startsWith(host)) ?? all[0]!;
}

export interface SbomOptions extends ImageOptions {
  format: string;
  output?: string;
}

/** `drydock sbom IMAGE` (options: main.ts). */
export async function sbom(reference: string, opts: SbomOptions): Promise<void> {
  if (!(SBOM_FORMATS as readonly string[]).includes(opts.format)) {
    throw new ConfigError(`unknown --format ${opts.format}: use ${SBOM_FORMATS.join(", ")}`);
  }
  const doc = await inventoryFromCli(reference, opts);
  let text: string;
  if (opts.format === "json") text = JSON.stringify(doc, null, 2);
  else {
    const inv = pickInventory(doc, opts.platform);
    // Each format's code is loaded when asked for (the CycloneDX library alone takes 50 ms to load).
    text =
      opts.format === "cyclonedx-json"
        ? (await import("../sbom/cyclonedx.js")).toCycloneDxJson(inv)
        : (await import("../sbom/spdx.js")).toSpdxJson(inv);
  }
  reportProblems(doc);
  if (opts.output) await writeFile(opts.output, text + "\n");
  else process.stdout.write(text + "\n");
  // The document is still written (it shows what could be read), but a pipeline must not take
  // a partial inventory for a whole one.
  if (inventoriesOf(doc).some((i) => i.incompleteLayers?.length)) process.exitCode = EXIT_INCOMPLETE;
}
