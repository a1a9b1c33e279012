import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizePackage, osvEcosystemKey } from "./ecosystems.js";
import { documentsOf, feedName, listSources } from "./sources.js";
import { makeTarGz, makeZip } from "./testing.js";

describe("ecosystem keys", () => {
  it.each([
    ["Go", "golang"],
    ["PyPI", "pypi"],
    ["crates.io", "cargo"],
    ["RubyGems", "gem"],
    ["Packagist", "composer"],
    ["AlmaLinux:9", "almalinux:9"],
    ["Rocky Linux:8", "rocky:8"],
    ["Alpine:v3.19", "alpine:3.19"],
    ["Ubuntu:22.04:LTS", "ubuntu:22.04"],
    ["Ubuntu:Pro:16.04:LTS", "ubuntu:16.04"],
    ["Debian:12", "debian:12"],
    ["Photon OS:5.0", "photon:5.0"],
    ["Some New Thing:1", "some-new-thing:1"],
  ])("%s → %s", (osv, key) => expect(osvEcosystemKey(osv)).toBe(key));

  it("normalizes names where the ecosystem compares them case- or punctuation-insensitively", () => {
    expect(normalizePackage("pypi", "Zope.Interface__x")).toBe("zope-interface-x");
    expect(normalizePackage("nuget", "Newtonsoft.Json")).toBe("newtonsoft.json");
    expect(normalizePackage("npm", "@Scope/Pkg")).toBe("@Scope/Pkg");
    expect(normalizePackage("debian:12", "Foo")).toBe("Foo");
  });
});

describe("sources", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "vulndb-src-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names feeds by mirror path, by file name, or by place in the walked directory", async () => {
    const mk = (rel: string) => {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), "x");
    };
    for (const f of [
      "pack/osv/Go/all.zip",
      "pack/extra/a.tar.gz",
      "pack/loose/1.json",
      "pack/loose/2.json",
      "pack/top.json",
      "pack/.git/x",
    ])
      mk(f);
    const sources = await listSources(
      [join(dir, "pack"), join(dir, "pack/loose/1.json")],
      ["osv/Go/all.zip"],
    );
    expect(sources.map((s) => [s.path.slice(dir.length + 1), s.feedName])).toEqual([
      ["pack/extra/a.tar.gz", "extra/a.tar.gz"],
      ["pack/loose/1.json", "loose"],
      ["pack/loose/2.json", "loose"],
      ["pack/osv/Go/all.zip", "osv/Go/all.zip"],
      ["pack/top.json", "pack"],
      ["pack/loose/1.json", "1.json"],
    ]);
    expect(feedName("/x/y/osv/Go/all.zip", undefined, ["osv/Go/all.zip"])).toBe("osv/Go/all.zip");
  });

  it("expands nested archives and names members archive!member", async () => {
    const inner = makeZip([{ name: "a/GO-1.json", data: "{}" }]);
    const tgz = makeTarGz([
      { name: "x/inner.zip", data: inner },
      { name: "x/doc.json.gz", data: gzipSync("[1]") },
      { name: "x/" + "n".repeat(90) + "/long.json", data: "{}" },
    ]);
    const names: string[] = [];
    for await (const item of documentsOf(tgz, "feed.tar.gz")) {
      if (item.kind === "document") names.push(`${item.doc.name} ${item.doc.content.toString()}`);
      else names.push(`problem ${item.document} ${item.reason}`);
    }
    expect(names).toEqual([
      "feed.tar.gz!x/inner.zip!a/GO-1.json {}",
      "feed.tar.gz!x/doc.json.gz!doc.json [1]",
      `feed.tar.gz!x/${"n".repeat(90)}/long.json {}`,
    ]);
  });
});
