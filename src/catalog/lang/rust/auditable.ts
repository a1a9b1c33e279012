import { inflateSync } from "node:zlib";
import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { findSection, isElf, parseElf, sectionData } from "../golang/elf.js";
import { cratePackage } from "./package.js";

/**
 * Rust binaries built with cargo-auditable: the `.dep-v0` ELF section holds the zlib-compressed
 * JSON dependency tree, `{"packages": [{name, version, source, kind?, root?, dependencies?}]}`
 * (source: "crates.io", "git", "local", "registry" or another string; kind "build" marks
 * build-time-only crates, which are not in the binary and are left out, as trivy does).
 *
 * Every executable is offered; non-ELF files and ELFs without the section are dismissed quietly.
 */

/** The section is a few KiB; more than this inflated is not dependency info. */
const MAX_JSON = 8 << 20;

interface AuditPackage {
  name?: unknown;
  version?: unknown;
  source?: unknown;
  kind?: unknown;
  root?: unknown;
}

export function catalogRustBinary(file: Pick<CatalogFile, "path" | "content">): CatalogResult {
  if (!isElf(file.content)) return { packages: [] };
  let json: string;
  try {
    const elf = parseElf(file.content);
    const sec = findSection(elf, ".dep-v0");
    if (!sec) return { packages: [] };
    json = inflateSync(sectionData(file.content, sec), { maxOutputLength: MAX_JSON }).toString("utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ERR_BUFFER_TOO_LARGE" ? `inflates beyond ${MAX_JSON} bytes` : err.message;
    return { packages: [], problems: [`unreadable cargo-auditable data: ${why}`] };
  }
  let doc: { packages?: unknown };
  try {
    doc = JSON.parse(json) as { packages?: unknown };
  } catch (e) {
    return { packages: [], problems: [`cargo-auditable data is not JSON: ${(e as Error).message}`] };
  }
  if (!doc || !Array.isArray(doc.packages))
    return { packages: [], problems: ["cargo-auditable data without a packages list"] };
  const packages: Package[] = [];
  const problems: string[] = [];
  doc.packages.forEach((raw: AuditPackage, n: number) => {
    if (raw?.kind === "build") return;
    const { name, version, source, root } = raw ?? {};
    if (typeof name !== "string" || !name || typeof version !== "string" || !version) {
      problems.push(`cargo-auditable package #${n}: no name or version`);
      return;
    }
    const pkg = cratePackage(name, version, typeof source === "string" ? source : "local", file.path);
    if (root === true) pkg.metadata = { ...pkg.metadata, root: true };
    packages.push(pkg);
  });
  return problems.length ? { packages, problems } : { packages };
}

export const rustBinaryCataloger: Cataloger = {
  id: "rust-auditable-binary",
  version: 1,
  ecosystem: "cargo",
  matches: (_path, mode) => (mode & 0o111) !== 0,
  parse: (file) => catalogRustBinary(file),
};
