import { describe, expect, it } from "vitest";
import { testContext } from "../../testing.js";
import type { Cataloger } from "../../types.js";
import { gemfileLockCataloger } from "./gemfile-lock.js";
import { gemspecCataloger, stringLiterals } from "./gemspec.js";

async function run(c: Cataloger, path: string, text: string) {
  expect(c.matches(path, 0o100644)).toBe(true);
  const r = await c.parse(
    { path, size: text.length, mode: 0o100644, content: Buffer.from(text) },
    testContext,
  );
  return {
    ids: r.packages.map((p) => `${p.name}@${p.version}`),
    packages: r.packages,
    problems: r.problems ?? [],
  };
}

describe("gemspec", () => {
  it("reads the literal forms the generator writes", () => {
    expect(stringLiterals(`"rake".freeze`)).toEqual(["rake"]);
    expect(stringLiterals(`["Ruby".freeze, 'BSD-2-Clause', %q<MIT>] # c "x"`)).toEqual([
      "Ruby",
      "BSD-2-Clause",
      "MIT",
    ]);
    expect(stringLiterals(`"Andr\\u00E9 \\"A\\"".freeze`)).toEqual(['André "A"']);
    expect(stringLiterals(`%q{a{b}c}`)).toEqual(["a{b}c"]);
  });

  it("reads name, version and licenses of the block variable only", async () => {
    const spec = `# -*- encoding: utf-8 -*-
Gem::Specification.new do |spec|
  spec.name = %q<nokogiri>.freeze
  spec.version = "1.16.0"
  s.version = "9.9.9"
  spec.license = "MIT".freeze
  spec.homepage = "https://nokogiri.org/#{spec.name}"
end
`;
    const r = await run(gemspecCataloger, "/usr/local/bundle/specifications/nokogiri-1.16.0.gemspec", spec);
    expect(r.packages).toEqual([
      {
        name: "nokogiri",
        version: "1.16.0",
        ecosystem: "gem",
        purl: "pkg:gem/nokogiri@1.16.0",
        path: "/usr/local/bundle/specifications/nokogiri-1.16.0.gemspec",
        licenses: ["MIT"],
      },
    ]);
  });

  it("matches installed specifications only", () => {
    expect(
      gemspecCataloger.matches("/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", 0),
    ).toBe(true);
    expect(gemspecCataloger.matches("/app/mygem.gemspec", 0)).toBe(false);
  });
});

describe("Gemfile.lock", () => {
  it("reads GEM, GIT and PATH specs, skips the application's own gem and platform duplicates", async () => {
    const text = `PATH
  remote: .
  specs:
    myapp (0.1.0)
      rails (~> 7.0)

PATH
  remote: ../shared
  specs:
    shared (1.0.0)

GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.16.0-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.16.0-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.3)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  myapp!

CHECKSUMS
  racc (1.7.3) sha256=abc

BUNDLED WITH
   2.5.3
`;
    const r = await run(gemfileLockCataloger, "/app/Gemfile.lock", text);
    expect(r).toMatchObject({ ids: ["shared@1.0.0", "nokogiri@1.16.0", "racc@1.7.3"], problems: [] });
  });

  it("ignores lock files inside installed gems", () => {
    expect(gemfileLockCataloger.matches("/usr/local/bundle/gems/rack-3.0.0/Gemfile.lock", 0)).toBe(false);
  });
});
