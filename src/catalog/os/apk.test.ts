import { describe, expect, it } from "vitest";
import { testContext } from "../testing.js";
import type { CatalogResult } from "../types.js";
import { apkCataloger, apkLicenses } from "./apk.js";
import { osPurl } from "./purl.js";
import { randomBytes } from "./rpm/rpmdb-testing.js";

const PATH = "/lib/apk/db/installed";

function parse(text: string | Buffer): CatalogResult {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return apkCataloger.parse(
    { path: PATH, size: content.length, mode: 0o644, content },
    testContext,
  ) as CatalogResult;
}

const musl =
  "C:Q1bTtF5526tETKfL+lnigzIDvm+2o=\nP:musl-utils\nV:1.2.4-r2\nA:x86_64\nS:37944\nL:MIT BSD GPL2+\no:musl\n" +
  "m:Timo Teräs <timo.teras@iki.fi>\nD:scanelf so:libc.musl-x86_64.so.1\nF:sbin\nR:ldconfig\na:0:0:755\nZ:Q1Kja2+POZ=\n";
const ada = "P:ada-libs\nV:2.7.4-r0\nA:aarch64\nL:( Apache-2.0 OR MIT ) AND MPL-2.0\no:ada\n";
const old = "P:busybox\nV:1.24.2-r9\nA:x86_64\nL:GPL2\n"; // no origin line

describe("apk installed database", () => {
  it("reads name, version, arch, licenses and origin", () => {
    const r = parse([musl, ada, old].join("\n"));
    expect(r.problems).toBeUndefined();
    expect(r.packages).toEqual([
      expect.objectContaining({
        name: "musl-utils",
        version: "1.2.4-r2",
        ecosystem: "apk",
        arch: "x86_64",
        licenses: ["MIT", "BSD", "GPL2+"],
        sourceName: "musl",
        sourceVersion: "1.2.4-r2",
        path: PATH,
        purl: "pkg:apk/musl-utils@1.2.4-r2?arch=x86_64&upstream=musl",
      }),
      expect.objectContaining({
        name: "ada-libs",
        licenses: ["(Apache-2.0 OR MIT) AND MPL-2.0"],
        sourceName: "ada",
      }),
      expect.objectContaining({ name: "busybox", sourceName: "busybox", licenses: ["GPL2"] }),
    ]);
    expect(osPurl(r.packages[0]!, { id: "alpine", versionId: "3.19.1" })).toBe(
      "pkg:apk/alpine/musl-utils@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1&upstream=musl",
    );
  });

  it("records incomplete records and stray lines, keeps the rest", () => {
    const r = parse(`${musl}\nP:noversion\nA:x86_64\n\nV:1.0\n\ngarbage line\n\n${old}`);
    expect(r.packages.map((p) => p.name)).toEqual(["musl-utils", "busybox"]);
    const problems = r.problems!.join("\n");
    expect(problems).toMatch(/noversion without a version/);
    expect(problems).toMatch(/without a name/);
    expect(problems).toMatch(/not a "X:value" line/);
  });

  it("survives truncation and random bytes", () => {
    const full = [musl, ada].join("\n");
    for (let n = 0; n <= full.length; n++) expect(() => parse(full.slice(0, n))).not.toThrow();
    const r = parse(randomBytes(100_000, 7));
    expect(r.packages).toEqual([]);
    expect(r.problems!.length).toBeGreaterThan(0);
  });

  it("reports, of the F:/R: file lists, the files that can be evidence of a language package", () => {
    const py =
      "P:py3-urllib3\nV:1.26.18-r0\nA:noarch\no:py3-urllib3\n" +
      "F:usr/lib/python3.11/site-packages/urllib3\nR:__init__.py\nZ:Q1abc=\n" +
      "F:usr/lib/python3.11/site-packages/urllib3-1.26.18.dist-info\nR:METADATA\nR:RECORD\n";
    const gem =
      "P:ruby-json\nV:2.7.1-r0\no:ruby\nF:usr/lib/ruby/gems/3.2.0/specifications\nR:json-2.7.1.gemspec\n";
    const r = parse(
      [musl, py, gem, "P:nover\nF:usr/lib/python3.11/site-packages/x.dist-info\nR:METADATA\n"].join("\n"),
    );
    expect(r.packages.map((p) => p.name)).toEqual(["musl-utils", "py3-urllib3", "ruby-json"]);
    expect(r.owned).toEqual([
      ["/usr/lib/python3.11/site-packages/urllib3-1.26.18.dist-info/METADATA", "py3-urllib3"],
      ["/usr/lib/ruby/gems/3.2.0/specifications/json-2.7.1.gemspec", "ruby-json"],
    ]);
    expect(parse(musl).owned).toBeUndefined();
  });

  it("matches the database paths only", () => {
    expect(apkCataloger.matches("/lib/apk/db/installed", 0o644)).toBe(true);
    expect(apkCataloger.matches("/usr/lib/apk/db/installed", 0o644)).toBe(true);
    expect(apkCataloger.matches("/lib/apk/db/installed.new", 0o644)).toBe(false);
    expect(apkCataloger.matches("/lib/apk/db/triggers", 0o644)).toBe(false);
  });
});

describe("apkLicenses", () => {
  it("splits legacy lists and keeps SPDX expressions whole", () => {
    expect(apkLicenses("MIT BSD GPL2+")).toEqual(["MIT", "BSD", "GPL2+"]);
    expect(apkLicenses("GPL-2.0-only")).toEqual(["GPL-2.0-only"]);
    expect(apkLicenses("MIT AND GPL-2.0-or-later")).toEqual(["MIT AND GPL-2.0-or-later"]);
    expect(apkLicenses("GPL-2.0-or-later WITH Linux-syscall-note")).toEqual([
      "GPL-2.0-or-later WITH Linux-syscall-note",
    ]);
    expect(apkLicenses("  ")).toBeUndefined();
    expect(apkLicenses(undefined)).toBeUndefined();
  });
});
