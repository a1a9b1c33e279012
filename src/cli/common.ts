import { ConfigError } from "../core/errors.js";
import { VulnDbError } from "../vulndb/schema.js";

/**
 * What the command list (main.ts, loaded by every `drydock` run, `--help` included) shares with
 * the command implementations (loaded only by their own command). On the startup path of every
 * invocation: import nothing here but modules without dependencies (startup.test.ts checks).
 */

export const SBOM_FORMATS = ["json", "cyclonedx-json", "spdx-json"] as const;

export const SCAN_FORMATS = ["table", "json", "sarif", "cyclonedx-json"] as const;

/**
 * The ids of `versionSchemes` (src/versions/registry.ts), sorted, for the help of
 * `drydock version compare` without loading every scheme; startup.test.ts keeps them equal.
 */
export const VERSION_SCHEME_IDS = [
  "apk",
  "cargo",
  "composer",
  "deb",
  "gem",
  "go",
  "maven",
  "nuget",
  "osv-semver",
  "pep440",
  "rpm",
  "semver",
] as const;

/** Exit code of a usage error (unknown command or option, missing argument or value), every command. */
export const EXIT_USAGE = 2;

/** Exit codes of `drydock scan`: 0 clean, 1 a finding at or above --fail-on remains, 2 error. */
export class ScanGateFailed extends Error {
  override readonly name = "ScanGateFailed";
  readonly exitCode = 1;
}

/**
 * The exit code for an error out of a command, and what to print after `drydock: `. A
 * ConfigError, VulnDbError or ImageFormatError is the user's answer: its message alone, exit 2.
 * Anything else is a crash: its stack, exit 2. ImageFormatError is recognised by name, its module
 * (src/image/resolve.ts) being more than main.ts should load.
 */
export function exitFor(e: unknown): { code: number; message?: string } {
  if (e instanceof ScanGateFailed) return { code: e.exitCode };
  if (
    e instanceof ConfigError ||
    e instanceof VulnDbError ||
    (e instanceof Error && e.name === "ImageFormatError")
  )
    return { code: 2, message: e.message };
  return { code: 2, message: (e as Error).stack ?? String(e) };
}
