import { describe, expect, it } from "vitest";
import { testContext } from "../../testing.js";
import type { Cataloger } from "../../types.js";
import { isValidNpmName, npmLicenses, yamlFlowTooDeep } from "./common.js";
import { isInstalledManifest, npmPackageJsonCataloger } from "./package-json.js";
import { npmPackageLockCataloger } from "./package-lock.js";
import { pnpmLockCataloger } from "./pnpm-lock.js";
import { yarnLockCataloger } from "./yarn-lock.js";

async function run(c: Cataloger, path: string, text: string) {
  expect(c.matches(path, 0o100644)).toBe(true);
  const r = await c.parse(
    { path, size: text.length, mode: 0o100644, content: Buffer.from(text) },
    testContext,
  );
  return {
    ids: r.packages.map((p) => `${p.name}@${p.version}${p.dev ? " dev" : ""}`).sort(),
    packages: r.packages,
    problems: r.problems ?? [],
  };
}

describe("installed package.json", () => {
  it.each([
    ["/app/node_modules/lodash/package.json", true],
    ["/app/node_modules/@babel/core/package.json", true],
    ["/app/node_modules/a/node_modules/b/package.json", true],
    ["/app/node_modules/.pnpm/x@1.0.0/node_modules/x/package.json", true],
    ["/app/package.json", false], // the application itself
    ["/app/node_modules/lodash/dist/esm/package.json", false], // module-type marker
    ["/app/node_modules/@babel/core/lib/package.json", false],
    ["/app/node_modules/.bin/package.json", false],
    ["/app/node_modules/lodash/package.json.bak", false],
  ])("%s → %s", (path, want) => {
    expect(isInstalledManifest(path)).toBe(want);
  });

  it("reads name, version, licenses and a scoped purl", async () => {
    const r = await run(
      npmPackageJsonCataloger,
      "/app/node_modules/@types/node/package.json",
      JSON.stringify({ name: "@types/node", version: "20.1.0", license: "MIT" }),
    );
    expect(r.packages).toEqual([
      {
        name: "@types/node",
        version: "20.1.0",
        ecosystem: "npm",
        purl: "pkg:npm/%40types/node@20.1.0",
        path: "/app/node_modules/@types/node/package.json",
        licenses: ["MIT"],
      },
    ]);
  });

  it("records a missing version or an invalid name as a problem; a bare marker file is nothing", async () => {
    const at = "/app/node_modules/x/package.json";
    expect((await run(npmPackageJsonCataloger, at, '{"name":"x"}')).problems).toHaveLength(1);
    expect(
      (await run(npmPackageJsonCataloger, at, '{"name":"a/b/c","version":"1.0.0"}')).problems,
    ).toHaveLength(1);
    expect(await run(npmPackageJsonCataloger, at, '{"type":"module"}')).toMatchObject({
      ids: [],
      problems: [],
    });
  });

  it("normalizes the license field shapes", () => {
    expect(npmLicenses("MIT")).toEqual(["MIT"]);
    expect(npmLicenses({ type: "ISC", url: "x" })).toEqual(["ISC"]);
    expect(npmLicenses([{ type: "MIT" }, "Apache-2.0", { type: "" }])).toEqual(["MIT", "Apache-2.0"]);
    expect(npmLicenses(42)).toBeUndefined();
    expect(npmLicenses(null)).toBeUndefined();
  });

  it("validates npm names", () => {
    expect(["lodash", "@a/b", "JSONStream", "a.b-c_d"].every(isValidNpmName)).toBe(true);
    expect(["", "@a", "@a/b/c", "a/b", ".x", "_x", "a b", "@invalid/packageName/"].some(isValidNpmName)).toBe(
      false,
    );
  });
});

describe("package-lock.json", () => {
  it("ignores lock files inside node_modules", () => {
    expect(npmPackageLockCataloger.matches("/app/node_modules/.package-lock.json", 0)).toBe(false);
    expect(npmPackageLockCataloger.matches("/app/node_modules/x/package-lock.json", 0)).toBe(false);
    expect(npmPackageLockCataloger.matches("/app/npm-shrinkwrap.json", 0)).toBe(true);
  });

  it("v3: skips the root, names aliases by their package, follows workspace links, de-duplicates", async () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        "": { name: "app", version: "1.0.0" },
        "node_modules/str": { name: "string-width", version: "4.2.3" },
        "node_modules/ws-a": { resolved: "packages/a", link: true },
        "packages/a": { name: "ws-a", version: "0.1.0" },
        "node_modules/ms": { version: "2.1.3", dev: true },
        "node_modules/x/node_modules/ms": { version: "2.1.3" },
        "node_modules/opt": { version: "1.0.0", devOptional: true },
      },
    };
    const r = await run(npmPackageLockCataloger, "/app/package-lock.json", JSON.stringify(lock));
    expect(r.ids).toEqual(["ms@2.1.3", "opt@1.0.0", "string-width@4.2.3", "ws-a@0.1.0"]);
  });

  it("v1: aliases, non-registry versions and development-only subtrees", async () => {
    const lock = {
      lockfileVersion: 1,
      dependencies: {
        alias: { version: "npm:real@1.2.3" },
        gitdep: { version: "git+https://github.com/a/b.git#abc" },
        tool: { version: "1.0.0", dev: true, dependencies: { inner: { version: "2.0.0" } } },
      },
    };
    const r = await run(npmPackageLockCataloger, "/app/package-lock.json", JSON.stringify(lock));
    expect(r.ids).toEqual(["inner@2.0.0 dev", "real@1.2.3", "tool@1.0.0 dev"]);
  });
});

describe("yarn.lock", () => {
  it("v1: aliases, skipped local protocols, quoted keys, several specifiers per entry", async () => {
    const text = [
      "# yarn lockfile v1",
      "",
      '"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":',
      '  version "7.10.4"',
      '  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.10.4.tgz#abc"',
      "  dependencies:",
      '    "@babel/highlight" "^7.10.4"',
      "",
      '"strip-ansi-cjs@npm:strip-ansi@^6.0.1":',
      '  version "6.0.1"',
      "",
      '"local@file:vendor/local.tgz":',
      '  version "0.0.1"',
      "",
      '"jquery@^3.6.0":',
      '  "version" "3.6.0"',
      "",
    ].join("\n");
    const r = await run(yarnLockCataloger, "/app/yarn.lock", text);
    expect(r).toMatchObject({
      ids: ["@babel/code-frame@7.10.4", "jquery@3.6.0", "strip-ansi@6.0.1"],
      problems: [],
    });
  });

  it("berry: skips the workspace and patches, keeps versions as strings", async () => {
    const text = [
      "__metadata:",
      "  version: 6",
      "",
      '"app@workspace:.":',
      "  version: 0.0.0-use.local",
      '  resolution: "app@workspace:."',
      "",
      '"resolve@npm:^1.10.0":',
      "  version: 1.10.0",
      '  resolution: "resolve@npm:1.10.0"',
      "",
      '"resolve@patch:resolve@npm%3A^1.10.0#~builtin<compat/resolve>":',
      "  version: 1.10.0",
      '  resolution: "resolve@patch:resolve@npm%3A1.10.0#~builtin<compat/resolve>::version=1.10.0&hash=07638b"',
      "",
    ].join("\n");
    const r = await run(yarnLockCataloger, "/app/yarn.lock", text);
    expect(r).toMatchObject({ ids: ["resolve@1.10.0"], problems: [] });
  });

  it("berry: a key written twice (a hand merge) keeps the last one", async () => {
    const text = [
      "__metadata:",
      "  version: 6",
      '"ms@npm:^2.1.0":',
      "  version: 2.1.2",
      '  resolution: "ms@npm:2.1.2"',
      '"ms@npm:^2.1.0":',
      "  version: 2.1.3",
      '  resolution: "ms@npm:2.1.3"',
      "",
    ].join("\n");
    expect((await run(yarnLockCataloger, "/app/yarn.lock", text)).ids).toEqual(["ms@2.1.3"]);
  });
});

describe("pnpm-lock.yaml", () => {
  it("v9: derives development-only packages from the importers, merges peer variants", async () => {
    const text = `lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      a: {specifier: ^1.0.0, version: 1.0.0(react@18.2.0)}
    devDependencies:
      b: {specifier: ^2.0.0, version: 2.0.0}
packages:
  a@1.0.0: {resolution: {integrity: x}}
  b@2.0.0: {resolution: {integrity: x}}
  shared@3.0.0: {resolution: {integrity: x}}
  devonly@4.0.0: {resolution: {integrity: x}}
  react@18.2.0: {resolution: {integrity: x}}
snapshots:
  a@1.0.0(react@18.2.0):
    dependencies: {shared: 3.0.0}
  a@1.0.0(react@17.0.0): {}
  b@2.0.0:
    dependencies: {shared: 3.0.0, devonly: 4.0.0}
  shared@3.0.0: {}
  devonly@4.0.0: {}
  react@18.2.0: {}
`;
    const r = await run(pnpmLockCataloger, "/app/pnpm-lock.yaml", text);
    expect(r).toMatchObject({
      ids: ["a@1.0.0", "b@2.0.0 dev", "devonly@4.0.0 dev", "react@18.2.0", "shared@3.0.0"],
      problems: [],
    });
  });

  it("v5 and v6 keys, with their own dev flags", async () => {
    const v5 = `lockfileVersion: 5.4
packages:
  /acorn-jsx/5.3.2_acorn@8.8.0: {dev: false}
  /@babel/core/7.0.0: {dev: true}
`;
    expect((await run(pnpmLockCataloger, "/app/pnpm-lock.yaml", v5)).ids).toEqual([
      "@babel/core@7.0.0 dev",
      "acorn-jsx@5.3.2",
    ]);
    const v6 = `lockfileVersion: '6.0'
packages:
  /@testing-library/react@13.4.0(react-dom@18.2.0)(react@18.2.0): {dev: false}
  /ms@2.1.3: {dev: true}
`;
    expect((await run(pnpmLockCataloger, "/app/pnpm-lock.yaml", v6)).ids).toEqual([
      "@testing-library/react@13.4.0",
      "ms@2.1.3 dev",
    ]);
  });

  it("skips pnpm's own lockfile document (packageManagerDependencies)", async () => {
    const text = `---
lockfileVersion: '9.0'
importers:
  .:
    packageManagerDependencies:
      pnpm: {specifier: 10.0.0, version: 10.0.0}
packages:
  pnpm@10.0.0: {resolution: {integrity: x}}
snapshots:
  pnpm@10.0.0: {}
---
lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      is-number: {specifier: 7.0.0, version: 7.0.0}
packages:
  is-number@7.0.0: {resolution: {integrity: x}}
snapshots:
  is-number@7.0.0: {}
`;
    expect((await run(pnpmLockCataloger, "/app/pnpm-lock.yaml", text)).ids).toEqual(["is-number@7.0.0"]);
  });

  it("a broken YAML document costs that document only", async () => {
    const good = `lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      is-number: {specifier: 7.0.0, version: 7.0.0}
packages:
  is-number@7.0.0: {resolution: {integrity: x}}
snapshots:
  is-number@7.0.0: {}
`;
    const r = await run(
      pnpmLockCataloger,
      "/app/pnpm-lock.yaml",
      `# pnpm\n---\na: [unclosed\n${"---\n" + good}`,
    );
    expect(r.ids).toEqual(["is-number@7.0.0"]);
    expect(r.problems).toEqual([
      expect.stringMatching(/^YAML document 1: unexpected end of the stream .*\(\d+:\d+\)$/),
    ]);
  });

  it("refuses aliases that expand without bound or refer to themselves", async () => {
    const bomb = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 7; i++)
      bomb.push(
        `l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(", ")}]`,
      );
    for (const text of [bomb.join("\n"), "lockfileVersion: &a ['9.0', *a]\n"]) {
      const r = await run(pnpmLockCataloger, "/app/pnpm-lock.yaml", text);
      expect(r.ids).toEqual([]);
      expect(r.problems).toEqual([expect.stringMatching(/^YAML document 1: .*(alias bomb|contains it)/)]);
    }
    // A few shared nodes are fine.
    const shared = `lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: &d\n      a: {specifier: 1.0.0, version: 1.0.0}\n  sub:\n    dependencies: *d\npackages:\n  a@1.0.0: {}\nsnapshots:\n  a@1.0.0: {}\n`;
    expect((await run(pnpmLockCataloger, "/app/pnpm-lock.yaml", shared)).ids).toEqual(["a@1.0.0"]);
  });

  it("refuses deep flow nesting before parsing, but not quoted brackets", () => {
    expect(yamlFlowTooDeep("a: " + "[".repeat(100))).toBe(true);
    expect(yamlFlowTooDeep("[x,\n".repeat(100))).toBe(true);
    expect(yamlFlowTooDeep(`a: '${"[".repeat(100)}'\nb: "${"{".repeat(100)}"\nc: {d: [e, f]}`)).toBe(false);
    expect(yamlFlowTooDeep("description: don't [stop\n".repeat(100))).toBe(false);
  });
});
