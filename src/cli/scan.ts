import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { dataPaths } from "../storage/paths.js";
import { loadConfig } from "../config/load.js";
import { ConfigError } from "../core/errors.js";
import { applyIgnores, readIgnoreFile, type IgnoreEntry } from "../findings/ignore.js";
import {
  applyCiSuppression,
  readVexFiles,
  suppressedLines,
  type CiSuppression,
} from "../findings/ci-suppression.js";
import { exceptionOfConfig, validateException, type ExceptionInput } from "../findings/exceptions.js";
import { renderTable, summaryCounts } from "../findings/formats/table.js";
import { toSarif } from "../findings/formats/sarif.js";
import { inventoriesOf } from "../image/analyze.js";
import type { ImageInventory } from "../image/types.js";
import { matchInventory } from "../scan/engine.js";
import { SEVERITY_ORDER, type Finding, type Severity } from "../findings/finding.js";
import { TOOL_VERSION } from "../sbom/tool.js";
import { VulnDb } from "../vulndb/db.js";
import { SCAN_FORMATS, ScanGateFailed } from "./common.js";
import { inventoryFromCli, pickInventory, type ImageOptions } from "./sbom.js";

export interface ScanOptions extends ImageOptions {
  format: string;
  severity?: string;
  failOn?: string;
  ignoreUnfixed?: boolean;
  ignoreFile?: string;
  db?: string;
  output?: string;
  maxDbAge?: string;
  /** OpenVEX / CycloneDX VEX files (`--vex`, repeatable). */
  vex?: string[];
  /** The repository the image is (or will be) in, for exceptions scoped by repository. */
  repository?: string;
}

function parseSeverity(s: string, flag: string): Severity {
  const v = s.trim().toUpperCase() as Severity;
  if (!SEVERITY_ORDER.includes(v))
    throw new ConfigError(`${flag}: unknown severity ${s} (use ${SEVERITY_ORDER.join(", ")})`);
  return v;
}

/** Severities at or above `s` (CRITICAL ranks highest). */
export function atOrAbove(s: Severity): Set<Severity> {
  return new Set(SEVERITY_ORDER.slice(0, SEVERITY_ORDER.indexOf(s) + 1));
}

export interface ImageScan {
  inventory: ImageInventory;
  findings: Finding[];
  ignored: { finding: Finding; entry: IgnoreEntry }[];
  /** Suppressed by VEX or the configuration's exceptions (not counted by --fail-on), and VEX notes. */
  suppression: CiSuppression;
}

/** `drydock scan IMAGE` (options: main.ts); throws ScanGateFailed when the gate fails. */
export async function scan(reference: string, opts: ScanOptions): Promise<void> {
  if (!(SCAN_FORMATS as readonly string[]).includes(opts.format)) {
    throw new ConfigError(`unknown --format ${opts.format}: use ${SCAN_FORMATS.join(", ")}`);
  }
  const only = opts.severity
    ? new Set(opts.severity.split(",").map((s) => parseSeverity(s, "--severity")))
    : null;
  const failOn = opts.failOn ? atOrAbove(parseSeverity(opts.failOn, "--fail-on")) : null;
  const config = loadConfig({ file: opts.config, flags: { data: opts.data } });
  const dbPath = resolve(
    opts.db !== undefined ? resolve(opts.db) : dataPaths(config.data, config.vulndb.path).vulndb,
  );
  if (!existsSync(dbPath)) {
    throw new ConfigError(
      `no vulnerability database at ${dbPath}: build one with \`drydock db import PATH\` or \`drydock db update\`, or pass --db`,
    );
  }
  const db = VulnDb.open(dbPath);
  try {
    // Not db.status(): its counts scan the whole database, a third of a second on every scan.
    const status = db.freshness();
    const maxAgeHours = Number(opts.maxDbAge ?? config.vulndb.maxAgeHours);
    // Age since the feeds were last confirmed current (a `db update` that found nothing new
    // counts), as `drydock db status` judges it.
    const ageHours = (Date.now() - Date.parse(status.checkedAt)) / 3600_000;
    if (!Number.isFinite(maxAgeHours) || maxAgeHours < 0) {
      throw new ConfigError(`--max-db-age: ${opts.maxDbAge} is not a number of hours`);
    }
    if (!Number.isFinite(ageHours)) {
      process.stderr.write(`drydock: warning: ${dbPath} does not say when it was built\n`);
    } else if (ageHours > maxAgeHours) {
      process.stderr.write(
        `drydock: warning: the vulnerability database was last updated ${formatAge(ageHours)} ago (more than ${maxAgeHours} h): run \`drydock db update\`\n`,
      );
    }
    const ignores = opts.ignoreFile ? await readIgnoreFile(opts.ignoreFile) : [];
    const vex = await readVexFiles(opts.vex ?? []);
    const nowMs = Date.now();
    const exceptions = config.exceptions.map(exceptionOfConfig);
    for (const e of exceptions) {
      try {
        validateException(e, null);
      } catch (err) {
        throw new ConfigError(`exceptions: ${(err as Error).message}`);
      }
    }
    const inForce = exceptions.filter((e) => e.expiresAt > nowMs);
    const expiredExceptions = exceptions.filter((e) => !(e.expiresAt > nowMs));
    for (const e of expiredExceptions)
      process.stderr.write(
        `drydock: warning: exception ${e.name} (owner ${e.owner}) expired on ${e.expires ?? new Date(e.expiresAt).toISOString()}: it no longer suppresses anything\n`,
      );
    const doc = await inventoryFromCli(reference, opts);
    const scans: ImageScan[] = [];
    const now = new Date();
    let expired: IgnoreEntry[] = [];
    for (const inv of inventoriesOf(doc)) {
      let findings = matchInventory(inv, db, "all");
      if (only) findings = findings.filter((f) => only.has(f.severity));
      if (opts.ignoreUnfixed) findings = findings.filter((f) => f.fixedVersion);
      const r = applyIgnores(findings, ignores, now);
      expired = r.expired;
      const suppression = applyCiSuppression(r.kept, {
        vex,
        exceptions: inForce,
        digest: inv.image.manifestDigest,
        ...((opts.repository ?? repositoryOf(inv.image.reference))
          ? { repository: opts.repository ?? repositoryOf(inv.image.reference)! }
          : {}),
      });
      scans.push({ inventory: inv, findings: suppression.kept, ignored: r.ignored, suppression });
    }
    for (const e of expired) {
      process.stderr.write(
        `drydock: warning: ignore entry for ${e.id} expired on ${e.expires}: it no longer suppresses anything\n`,
      );
    }
    for (const s of scans) {
      for (const p of s.inventory.problems.slice(0, 20)) {
        process.stderr.write(`drydock: warning: ${p.path}: ${p.reason} (${p.source})\n`);
      }
    }
    const text = await render(opts, scans, doc, { path: dbPath, ...status }, expired, expiredExceptions);
    if (opts.output) await writeFile(opts.output, text + "\n");
    else {
      // `drydock scan IMG | head`: a reader that stops early is not a failure of the scan,
      // and the gate below must still decide the exit code.
      process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
      });
      process.stdout.write(text + "\n");
    }
    // An image whose layers could not all be read may hide vulnerabilities: not a pass.
    const incomplete = scans.filter((s) => s.inventory.incompleteLayers?.length);
    if (incomplete.length) {
      throw new ConfigError(
        `${incomplete.map((s) => s.inventory.image.reference).join(", ")}: some layers could not be read completely (see warnings); the scan is incomplete`,
      );
    }
    if (failOn && scans.some((s) => s.findings.some((f) => failOn.has(f.severity)))) {
      throw new ScanGateFailed(`findings at or above ${opts.failOn}`);
    }
  } finally {
    db.close();
  }
}

function formatAge(hours: number): string {
  if (hours < 1) return `${Math.max(0, Math.round(hours * 60))} min`;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} days`;
}

/**
 * The repository of an image reference (`registry.example.com/prod/api:1` → `prod/api`), for
 * exceptions scoped by repository; undefined for archives and layouts (`--repository` says it).
 */
export function repositoryOf(reference: string): string | undefined {
  const ref = reference.startsWith("docker://") ? reference.slice("docker://".length) : reference;
  // oci:, oci-archive:, docker-archive:, dir: (a host:port has digits after the colon).
  if (/^[a-z][a-z-]*:(?!\d)/.test(ref)) return undefined;
  const parts = ref.split("@")[0]!.split("/");
  if (parts.length < 2) return undefined;
  const first = parts[0]!;
  const path = first.includes(".") || first.includes(":") || first === "localhost" ? parts.slice(1) : parts;
  const last = path.pop()!.replace(/:[\w][\w.-]*$/, "");
  return [...path, last].join("/") || undefined;
}

/** A finding as `--format json` writes it: absent facts are null, so every finding has the same keys. */
function findingJson(f: Finding, vex?: CiSuppression["vex"]) {
  const note = vex?.get(f);
  return { ...f, fixedVersion: f.fixedVersion ?? null, epss: f.epss ?? null, ...(note ? { vex: note } : {}) };
}

async function render(
  opts: ScanOptions,
  scans: ImageScan[],
  doc: Awaited<ReturnType<typeof inventoryFromCli>>,
  database: { path: string; builtAt: string; checkedAt: string },
  expired: IgnoreEntry[],
  expiredExceptions: ExceptionInput[],
): Promise<string> {
  const one = (s: ImageScan) => ({
    ...s.inventory,
    findings: s.findings.map((f) => findingJson(f, s.suppression.vex)),
    suppressed: s.suppression.suppressed.map(({ finding, by }) => ({
      ...findingJson(finding, s.suppression.vex),
      suppressedBy: by,
    })),
    summary: summaryCounts(s.findings),
    ignored: s.ignored.map((i) => ({
      vulnerabilityId: i.finding.vulnerabilityId,
      package: i.finding.package.name,
      reason: i.entry.reason,
      expires: i.entry.expires,
    })),
  });
  switch (opts.format) {
    case "json": {
      const meta = {
        database,
        expiredIgnores: expired,
        expiredExceptions: expiredExceptions.map((e) => ({
          name: e.name,
          owner: e.owner,
          reason: e.reason,
          expires: e.expires ?? new Date(e.expiresAt).toISOString(),
        })),
      };
      const body =
        "images" in doc
          ? { index: doc.index, images: scans.map(one), ...meta }
          : { ...one(scans[0]!), ...meta };
      return JSON.stringify(body, null, 2);
    }
    case "sarif":
      return toSarif(
        scans.flatMap((s) => s.findings),
        {
          image: doc && "images" in doc ? doc.index.reference : scans[0]!.inventory.image.reference,
          toolVersion: TOOL_VERSION,
        },
      );
    case "cyclonedx-json": {
      const inv = pickInventory(doc, opts.platform);
      const scan = scans.find((s) => s.inventory === inv) ?? scans[0]!;
      // Loaded when asked for (the CycloneDX library alone takes 50 ms to load).
      const { toCycloneDxJson } = await import("../sbom/cyclonedx.js");
      return toCycloneDxJson(inv, { vulnerabilities: scan.findings });
    }
    default: {
      const tables = scans.map((s) => {
        const table = renderTable(s.findings, {
          color: process.stdout.isTTY && !opts.output,
          ignored: s.ignored.length,
          suppressed: s.suppression.suppressed.length,
          title: `${s.inventory.image.reference} (${s.inventory.image.platform.os}/${s.inventory.image.platform.architecture}${s.inventory.distro ? `, ${s.inventory.distro.id} ${s.inventory.distro.versionId}` : ""})`,
        });
        const lines = suppressedLines(s.suppression.suppressed);
        return lines.length ? `${table}\n\nSuppressed (VEX, exceptions):\n${lines.join("\n")}` : table;
      });
      if (expiredExceptions.length)
        tables.push(
          `Expired exceptions (they no longer suppress anything):\n${expiredExceptions
            .map(
              (e) =>
                `  ${e.name}  owner ${e.owner}  expired ${e.expires ?? new Date(e.expiresAt).toISOString()}: ${e.reason}`,
            )
            .join("\n")}`,
        );
      return tables.join("\n\n");
    }
  }
}
