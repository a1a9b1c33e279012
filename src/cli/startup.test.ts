import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../core/errors.js";
import { ImageFormatError } from "../image/resolve.js";
import { versionSchemes } from "../versions/registry.js";
import { VulnDbError } from "../vulndb/schema.js";
import { VERSION_SCHEME_IDS, ScanGateFailed, exitFor } from "./common.js";

const src = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The specifiers a module imports when it is loaded: static imports and re-exports, not types. */
function staticImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const clause = st.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const onlyTypes =
        clause !== undefined &&
        clause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) out.push((st.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && !st.isTypeOnly) {
      out.push((st.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return out;
}

/** Every module that loading `entry` (a path under src/) loads: its static imports, transitively. */
function importGraph(entry: string): { local: string[]; packages: string[] } {
  const local = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    const rel = relative(src, file);
    if (local.has(rel)) return;
    local.add(rel);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) visit(join(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(join(src, entry));
  return { local: [...local].sort(), packages: [...packages].sort() };
}

describe("drydock startup", () => {
  it("loads commander and dependency-free modules only; commands import the rest when they run", () => {
    // Every module loaded before `drydock` parses its arguments.
    const { local, packages } = importGraph("cli/main.ts");
    // A module added here costs every invocation, `drydock --help` included: import it in the
    // action that needs it (`await import(...)`) instead.
    expect(local).toEqual(["cli/common.ts", "cli/main.ts", "core/errors.ts", "vulndb/schema.ts"]);
    expect(packages.filter((p) => !p.startsWith("node:"))).toEqual(["commander"]);
  });

  it("sbom and scan load the YAML parser and the CycloneDX library only when a run needs them", () => {
    // js-yaml: loaded for a config, lock or ignore file in YAML (core/yaml.ts); the
    // CycloneDX library: 50 ms, for --format cyclonedx-json.
    for (const entry of ["cli/sbom.ts", "cli/scan.ts"]) {
      const { packages } = importGraph(entry);
      expect(packages, entry).not.toContain("js-yaml");
      expect(packages, entry).not.toContain("@cyclonedx/cyclonedx-library");
    }
  });

  it("lists every version scheme in the help of `version compare`", () => {
    expect([...VERSION_SCHEME_IDS]).toEqual(Object.keys(versionSchemes).sort());
  });
});

describe("exit codes", () => {
  it("1 for a failed scan gate, without a message (the report says why)", () => {
    expect(exitFor(new ScanGateFailed("findings at or above HIGH"))).toEqual({ code: 1 });
  });

  it("2 and the message alone for configuration, image and database errors", () => {
    expect(exitFor(new ConfigError("bad --format"))).toEqual({ code: 2, message: "bad --format" });
    expect(exitFor(new ImageFormatError("not an image"))).toEqual({ code: 2, message: "not an image" });
    expect(exitFor(new VulnDbError("no database"))).toEqual({ code: 2, message: "no database" });
  });

  it("2 and the stack for anything else", () => {
    const e = new TypeError("boom");
    expect(exitFor(e)).toEqual({ code: 2, message: e.stack });
    expect(exitFor("thrown string")).toEqual({ code: 2, message: "thrown string" });
  });
});
