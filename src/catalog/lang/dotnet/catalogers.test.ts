import { describe, expect, it } from "vitest";
import { catalogDepsJson, dotnetDepsCataloger } from "./depsjson.js";
import { catalogPackagesConfig, nugetConfigCataloger } from "./packagesconfig.js";
import { catalogPackagesLock, nugetLockCataloger } from "./packageslock.js";

const file = (path: string, text: string) => ({ path, content: Buffer.from(text) });

describe(".NET catalogers", () => {
  it("deps.json: NuGet packages, projects marked, runtime packs under their NuGet name", () => {
    const r = catalogDepsJson(
      file(
        "/app/App.deps.json",
        JSON.stringify({
          runtimeTarget: { name: ".NETCoreApp,Version=v8.0/linux-x64" },
          targets: {
            ".NETCoreApp,Version=v8.0/linux-x64": {
              "App/1.0.0": { dependencies: { "Newtonsoft.Json": "13.0.1" }, runtime: { "App.dll": {} } },
              "Newtonsoft.Json/13.0.1": { runtime: { "lib/net6.0/Newtonsoft.Json.dll": {} } },
              "Microsoft.NETCore.Platforms/1.1.0": {},
              "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {
                native: { "libcoreclr.so": {} },
              },
            },
          },
          libraries: {
            "App/1.0.0": { type: "project" },
            "Newtonsoft.Json/13.0.1": { type: "package" },
            "Microsoft.NETCore.Platforms/1.1.0": { type: "package" },
            "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": { type: "runtimepack" },
            "Ref.Only/1.0.0": { type: "reference" },
            broken: { type: "package" },
          },
        }),
      ),
    );
    expect(r.packages.map((p) => [p.name, p.version, p.purl, p.metadata])).toEqual([
      ["App", "1.0.0", "pkg:nuget/App@1.0.0", { project: true }],
      ["Newtonsoft.Json", "13.0.1", "pkg:nuget/Newtonsoft.Json@13.0.1", undefined],
      [
        "Microsoft.NETCore.App.Runtime.linux-x64",
        "8.0.0",
        "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@8.0.0",
        undefined,
      ],
    ]);
    expect(r.problems).toEqual(['library "broken" is not name/version']);
    expect(catalogDepsJson(file("/x.deps.json", "{ truncated")).problems).toEqual([
      expect.stringMatching(/^not valid JSON/),
    ]);
    expect(catalogDepsJson(file("/x.deps.json", "[]")).problems).toEqual(["not a deps.json object"]);
  });

  it("packages.lock.json: resolved versions once per name and version, projects left out", () => {
    const r = catalogPackagesLock(
      file(
        "/src/packages.lock.json",
        JSON.stringify({
          version: 2,
          dependencies: {
            "net6.0": {
              AutoMapper: { type: "Direct", requested: "[13.0.1, )", resolved: "13.0.1" },
              "My.Project": { type: "Project" },
              Odd: { type: "Transitive" },
            },
            "net8.0": {
              AutoMapper: { type: "Direct", resolved: "13.0.1" },
              log4net: { type: "CentralTransitive", resolved: "2.0.5" },
            },
          },
        }),
      ),
    );
    expect(r.packages.map((p) => `${p.name}@${p.version}`)).toEqual(["AutoMapper@13.0.1", "log4net@2.0.5"]);
    expect(r.problems).toEqual(["net6.0: Odd has no resolved version"]);
    expect(catalogPackagesLock(file("/packages.lock.json", "{}")).problems).toEqual([
      "no dependencies object",
    ]);
  });

  it("packages.config: dev packages marked, malformed XML a problem", () => {
    const r = catalogPackagesConfig(
      file(
        "/src/packages.config",
        '<packages><package id="Microsoft.Net.Compilers" version="1.0.0" developmentDependency="true"/>' +
          '<package id="Newtonsoft.Json" version="8.0.3"/><package id="NoVersion"/></packages>',
      ),
    );
    expect(r.packages.map((p) => [p.name, p.version, p.dev])).toEqual([
      ["Microsoft.Net.Compilers", "1.0.0", true],
      ["Newtonsoft.Json", "8.0.3", undefined],
    ]);
    expect(r.problems).toEqual(['<package> without id or version ({"id":"NoVersion"})']);
    expect(catalogPackagesConfig(file("/packages.config", "<packages><package")).problems).toEqual([
      expect.stringMatching(/^malformed XML: line 1/),
    ]);
    expect(catalogPackagesConfig(file("/packages.config", "<configuration/>")).problems).toEqual([
      "root element is <configuration>, not <packages>",
    ]);
  });

  it("match their file names only", () => {
    expect(dotnetDepsCataloger.matches("/app/My.App.deps.json", 0o644)).toBe(true);
    expect(dotnetDepsCataloger.matches("/app/deps.json.bak", 0o644)).toBe(false);
    expect(nugetLockCataloger.matches("/src/packages.lock.json", 0o644)).toBe(true);
    expect(nugetLockCataloger.matches("/src/mypackages.lock.json", 0o644)).toBe(false);
    expect(nugetConfigCataloger.matches("/src/packages.config", 0o644)).toBe(true);
    expect(nugetConfigCataloger.matches("/src/nuget.config", 0o644)).toBe(false);
  });
});
