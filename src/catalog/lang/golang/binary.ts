import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { readGoBuildInfo } from "./buildinfo.js";
import { isElf } from "./elf.js";
import { versionFromLdflags } from "./ldflags.js";
import { parseModInfo } from "./modinfo.js";
import { goPackage, isLocalReplacement, stdlibVersion } from "./package.js";

/**
 * Go binaries: the toolchain (`stdlib`), the main module and every dependency module recorded in
 * the build info, replacements applied (the replacement is what was compiled in).
 *
 * Every executable file is offered to this cataloger; anything that is not ELF, PE or Mach-O is
 * dismissed on its first bytes, an ELF without `.go.buildinfo` after reading its section
 * headers. Only a file that claims to be a Go binary and cannot be read becomes a problem.
 */

const UPX = Buffer.from("UPX!");

export function catalogGoBinary(file: Pick<CatalogFile, "path" | "content">): CatalogResult {
  let raw;
  try {
    raw = readGoBuildInfo(file.content);
  } catch (e) {
    return { packages: [], problems: [`unreadable executable: ${(e as Error).message}`] };
  }
  if (!raw) {
    // UPX keeps its marker in the first bytes; the packed program (often a Go tool) cannot be
    // inspected, which is worth saying rather than reporting nothing.
    if (isElf(file.content) && file.content.subarray(0, 1024).includes(UPX))
      return {
        packages: [],
        problems: ["UPX-packed executable: its contents (Go build info) cannot be read"],
      };
    return { packages: [] };
  }

  const problems: string[] = [];
  const packages: Package[] = [];
  const info = parseModInfo(raw.modinfo);

  const stdlib = stdlibVersion(raw.goVersion);
  if (stdlib) packages.push(goPackage("stdlib", stdlib, file.path, { goVersion: raw.goVersion }));
  else problems.push(`unrecognized Go toolchain version "${raw.goVersion}": stdlib not reported`);

  // Binaries built from a work tree say `(devel)` (Go >= 1.24: a VCS pseudo-version) for the
  // main module; a version stamped with -ldflags -X is then the better answer.
  if (info.main?.path) {
    let version = info.main.version === "(devel)" ? "" : info.main.version;
    const metadata: Record<string, string | boolean> = { main: true };
    if (!version || version.startsWith("v0.0.0-")) {
      const stamped = versionFromLdflags(info.main.path, info.settings.get("-ldflags") ?? "");
      if (stamped) {
        version = stamped.startsWith("v") ? stamped : `v${stamped}`;
        metadata.versionFrom = "ldflags";
      }
    }
    packages.push(goPackage(info.main.path, version, file.path, metadata));
  }

  for (const dep of info.deps) {
    // Very old toolchains recorded the main module as a dependency with an empty path.
    if (!dep.path) continue;
    const r = dep.replace;
    if (r && isLocalReplacement(r.path, r.version))
      packages.push(goPackage(dep.path, "", file.path, { replace: r.path }));
    else if (r)
      packages.push(goPackage(r.path, r.version, file.path, { replaces: `${dep.path}@${dep.version}` }));
    else packages.push(goPackage(dep.path, dep.version === "(devel)" ? "" : dep.version, file.path));
  }
  return problems.length ? { packages, problems } : { packages };
}

export const goBinaryCataloger: Cataloger = {
  id: "go-binary",
  version: 1,
  ecosystem: "golang",
  matches: (_path, mode) => (mode & 0o111) !== 0,
  parse: (file) => catalogGoBinary(file),
};
