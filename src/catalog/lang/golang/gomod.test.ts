import { describe, expect, it } from "vitest";
import { catalogGoMod, goModCataloger, parseGoMod } from "./gomod.js";

const parse = (text: string) => catalogGoMod({ path: "/src/go.mod", content: Buffer.from(text) });

describe("go.mod", () => {
  it("resolves requirements through exclude and replace, marking indirect ones", () => {
    const r = parse(`module example.com/app // the app

go 1.21
toolchain go1.21.5

require (
	github.com/a/one v1.0.0
	github.com/b/two v2.0.0+incompatible // indirect
	"github.com/c/three" v0.3.0 // indirect; needed by x
	github.com/d/four v1.4.0 // not indirect
	github.com/e/five v1.5.0
	// github.com/commented/out v9.9.9
)

require github.com/f/six v1.6.0

exclude github.com/e/five v1.5.0

replace (
	github.com/a/one => github.com/fork/one v1.0.1
	github.com/d/four v1.3.0 => github.com/nope/four v9.0.0
	github.com/d/four v1.4.0 => ./four
)
replace github.com/f/six v1.6.0 => github.com/f/six v1.6.1
retract v0.9.0
`);
    expect(r.problems).toBeUndefined();
    expect(r.packages.map((p) => [p.name, p.version, p.purl, p.metadata])).toEqual([
      [
        "example.com/app",
        "",
        "pkg:golang/example.com/app",
        { main: true, go: "1.21", toolchain: "go1.21.5" },
      ],
      [
        "github.com/fork/one",
        "v1.0.1",
        "pkg:golang/github.com/fork/one@v1.0.1",
        { replaces: "github.com/a/one@v1.0.0" },
      ],
      [
        "github.com/b/two",
        "v2.0.0+incompatible",
        "pkg:golang/github.com/b/two@v2.0.0%2Bincompatible",
        { indirect: true },
      ],
      ["github.com/c/three", "v0.3.0", "pkg:golang/github.com/c/three@v0.3.0", { indirect: true }],
      ["github.com/d/four", "", "pkg:golang/github.com/d/four", { replace: "./four" }],
      [
        "github.com/f/six",
        "v1.6.1",
        "pkg:golang/github.com/f/six@v1.6.1",
        { replaces: "github.com/f/six@v1.6.0" },
      ],
    ]);
    expect(r.packages.every((p) => p.ecosystem === "golang" && p.path === "/src/go.mod")).toBe(true);
  });

  it("records malformed lines as problems and keeps the rest", () => {
    const r = parse(`module example.com/app
require github.com/a/one
require github.com/b/two v1.0.0
replace github.com/x =>
require "unterminated v1
require (
	github.com/c/three v1.0.0
`);
    expect(r.packages.map((p) => p.name)).toEqual([
      "example.com/app",
      "github.com/b/two",
      "github.com/c/three",
    ]);
    expect(r.problems).toEqual([
      "line 2: malformed require directive",
      "line 4: malformed replace directive",
      "line 5: unterminated string",
      "unterminated require block",
    ]);
  });

  it("says so when there is no module directive", () => {
    expect(parse("require github.com/a/b v1.0.0\n").problems).toEqual(["no module directive"]);
    expect(parse("\x00\x01binary junk\n").problems).toEqual(["no module directive"]);
  });

  it("parses a module block", () => {
    expect(parseGoMod("module (\n  example.com/x\n)\n", []).module).toBe("example.com/x");
  });

  it("matches go.mod files outside the module cache and testdata", () => {
    expect(goModCataloger.matches("/src/app/go.mod", 0o644)).toBe(true);
    expect(goModCataloger.matches("/go.mod", 0o644)).toBe(true);
    expect(goModCataloger.matches("/root/go/pkg/mod/github.com/x/y@v1.0.0/go.mod", 0o644)).toBe(false);
    expect(goModCataloger.matches("/src/app/testdata/go.mod", 0o644)).toBe(false);
    expect(goModCataloger.matches("/src/app/go.mod.bak", 0o644)).toBe(false);
    expect(goModCataloger.matches("/src/app/xgo.mod", 0o644)).toBe(false);
  });
});
