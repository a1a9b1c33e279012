import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catalogPath, testContext } from "../../testing.js";
import type { Cataloger } from "../../types.js";
import { gemfileLockCataloger } from "./gemfile-lock.js";
import { gemspecCataloger, readStub, stringLiterals } from "./gemspec.js";

const testdata = (name: string) => fileURLToPath(new URL(`testdata/${name}`, import.meta.url));

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

  it("reads Debian's default gems json and digest, whose stub lines join extensions with NUL", async () => {
    // testdata/: the files of libruby3.1 3.1.7+really3.1.2-0+deb12u1 (Debian bookworm), as
    // installed under /usr/lib/ruby/gems/3.1.0/specifications/default/
    const dir = "usr/lib/ruby/gems/3.1.0/specifications/default";
    for (const [file, name, version] of [
      ["json-2.6.1.gemspec", "json", "2.6.1"],
      ["digest-3.1.0.gemspec", "digest", "3.1.0"],
    ] as const) {
      const r = await catalogPath(testdata(file), [gemspecCataloger], { asPath: `${dir}/${file}` });
      expect(r.problems).toEqual([]);
      expect(r.packages).toMatchObject([
        { name, version, ecosystem: "gem", purl: `pkg:gem/${name}@${version}`, path: `/${dir}/${file}` },
      ]);
    }
  });

  it("reads the stub lines as RubyGems' StubSpecification does", () => {
    expect(
      readStub(
        "# -*- encoding: utf-8 -*-\n# stub: json 2.6.1 ruby lib\0/usr/lib/x86_64-linux-gnu/ruby/3.1.0\n" +
          "# stub: ext/a/extconf.rb\0ext/b/extconf.rb\n\nGem::Specification.new do |s|\nend\n",
      ),
    ).toEqual({
      stub: {
        name: "json",
        version: "2.6.1",
        platform: "ruby",
        requirePaths: ["lib", "/usr/lib/x86_64-linux-gnu/ruby/3.1.0"],
        extensions: ["ext/a/extconf.rb", "ext/b/extconf.rb"],
      },
      binaryOutsideStub: false,
    });
    expect(readStub("# stub: json 2.6.1\n").stub).toBeNull();
    expect(readStub("# stub: json\u00002.6.1 ruby lib\n").stub).toBeNull();
    expect(readStub("# not a stub \0\n").binaryOutsideStub).toBe(true);
    expect(readStub("# stub: a 1 ruby lib\nGem::Specification.new do |s|\0\n").binaryOutsideStub).toBe(true);
  });

  it("takes the stub's name and version when the block does not state them as literals", async () => {
    const spec = `# stub: rack 3.0.8 ruby lib\n\nGem::Specification.new do |s|\n  s.name = NAME\n  s.version = "#{V}"\nend\n`;
    const r = await run(gemspecCataloger, "/usr/local/bundle/specifications/rack-3.0.8.gemspec", spec);
    expect(r).toMatchObject({ ids: ["rack@3.0.8"], problems: [] });
  });

  it("property: any gemspec RubyGems writes reads back; NUL outside the stub lines is binary content", async () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}$/);
    const path = fc.stringMatching(/^[A-Za-z0-9_/.-]{1,30}$/);
    interface Stub {
      name: string;
      version: string;
      platform: string;
      requirePaths: string[];
      extensions: string[];
      crlf: boolean;
    }
    const spec: fc.Arbitrary<Stub> = fc.record({
      name: token,
      version: fc.stringMatching(/^[0-9]{1,3}(\.[0-9a-z]{1,4}){0,3}$/),
      platform: fc.constantFrom("ruby", "x86_64-linux", "java"),
      requirePaths: fc.array(path, { minLength: 1, maxLength: 3 }),
      extensions: fc.array(path, { maxLength: 3 }),
      crlf: fc.boolean(),
    });
    // Gem::Specification#to_ruby: the stub lines, then the block.
    const write = (s: Stub) =>
      [
        "# -*- encoding: utf-8 -*-",
        `# stub: ${s.name} ${s.version} ${s.platform} ${s.requirePaths.join("\0")}`,
        ...(s.extensions.length ? [`# stub: ${s.extensions.join("\0")}`] : []),
        "",
        "Gem::Specification.new do |s|",
        `  s.name = ${JSON.stringify(s.name)}.freeze`,
        `  s.version = ${JSON.stringify(s.version)}`,
        `  s.require_paths = [${s.requirePaths.map((p) => `${JSON.stringify(p)}.freeze`).join(", ")}]`,
        "end",
        "",
      ].join(s.crlf ? "\r\n" : "\n");
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const text = write(s);
        const r = await run(gemspecCataloger, "/usr/lib/ruby/gems/3.1.0/specifications/x.gemspec", text);
        expect(r.ids).toEqual([`${s.name}@${s.version}`]);
        expect(r.problems).toEqual([]);
        expect(readStub(text).stub).toEqual({
          name: s.name,
          version: s.version,
          platform: s.platform,
          requirePaths: s.requirePaths,
          extensions: s.extensions,
        });
      }),
      { numRuns: 300 },
    );
    // A NUL anywhere else: no package, a problem, never a throw.
    await fc.assert(
      fc.asyncProperty(spec, fc.nat(), async (s, at) => {
        const text = write(s);
        const start = text.indexOf("Gem::");
        const i = start + (at % (text.length - start));
        const r = await run(
          gemspecCataloger,
          "/x/specifications/x.gemspec",
          text.slice(0, i) + "\0" + text.slice(i),
        );
        expect(r.ids).toEqual([]);
        expect(r.problems).toEqual(["gemspec has binary content"]);
      }),
      { numRuns: 200 },
    );
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
