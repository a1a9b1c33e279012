import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { cratePackage } from "./package.js";
import { parseLockToml } from "../toml.js";

/**
 * Cargo.lock, every format version (v1 without a version key and with `[metadata]` checksums,
 * v2, v3 `version = 3`, v4): each `[[package]]` is a crate of the build, reported once per
 * entry (a crate can be locked twice, from crates.io and from git).
 */

export function catalogCargoLock(file: Pick<CatalogFile, "path" | "content">): CatalogResult {
  let doc;
  try {
    doc = parseLockToml(file.content.toString("utf8"));
  } catch (e) {
    return { packages: [], problems: [`not a valid Cargo.lock: ${(e as Error).message}`] };
  }
  const entries = doc.package ?? [];
  if (!Array.isArray(entries)) return { packages: [], problems: ["`package` is not an array of tables"] };
  const packages: Package[] = [];
  const problems: string[] = [];
  entries.forEach((e, n) => {
    const t = typeof e === "object" && e !== null && !Array.isArray(e) ? (e as Record<string, unknown>) : {};
    const { name, version, source } = t;
    if (typeof name !== "string" || !name || typeof version !== "string" || !version) {
      problems.push(`[[package]] #${n + 1}: no name or version`);
      return;
    }
    packages.push(cratePackage(name, version, typeof source === "string" ? source : undefined, file.path));
  });
  return problems.length ? { packages, problems } : { packages };
}

export const cargoLockCataloger: Cataloger = {
  id: "cargo-lock",
  version: 1,
  ecosystem: "cargo",
  // Cargo's own caches (…/registry/src/…, …/git/checkouts/…) hold the sources of downloaded
  // crates, some with the lock file they were published with: not what the image runs.
  matches: (path) =>
    path.endsWith("/Cargo.lock") && !path.includes("/registry/src/") && !path.includes("/git/checkouts/"),
  parse: (file) => catalogCargoLock(file),
};
