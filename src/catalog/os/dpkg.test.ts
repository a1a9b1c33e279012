import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { catalogPath, testContext } from "../testing.js";
import type { CatalogResult } from "../types.js";
import { dpkgCataloger, dpkgFilesCataloger, isDebVersion } from "./dpkg.js";
import { osPurl } from "./purl.js";
import { randomBytes } from "./rpm/rpmdb-testing.js";

const STATUS = "/var/lib/dpkg/status";

function parse(text: string | Buffer, path = STATUS): CatalogResult {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return dpkgCataloger.parse(
    { path, size: content.length, mode: 0o644, content },
    testContext,
  ) as CatalogResult;
}

function stanza(name: string, status: string | null, extra = ""): string {
  return (
    `Package: ${name}\n` +
    (status === null ? "" : `Status: ${status}\n`) +
    `Architecture: amd64\nVersion: 1.0-1\n${extra}Description: ${name}\n long text\n .\n more\n`
  );
}

describe("dpkg status", () => {
  it("keeps installed packages only", () => {
    const cases: [string | null, boolean][] = [
      ["install ok installed", true],
      ["hold ok installed", true],
      ["install ok triggers-pending", true],
      ["install ok triggers-awaited", true],
      ["install ok unpacked", true], // files on disk, not configured yet
      ["install ok half-configured", true],
      ["install reinstreq half-installed", false],
      ["install ok half-installed", false],
      ["deinstall ok config-files", false],
      ["deinstall ok installed", false],
      ["purge ok not-installed", false],
      ["install ok not-installed", false],
      [null, true], // a control paragraph (status.d style)
    ];
    const text = cases.map(([s], i) => stanza(`p${i}`, s)).join("\n");
    const r = parse(text);
    expect(r.problems).toBeUndefined();
    expect(r.packages.map((p) => p.name)).toEqual(cases.flatMap(([, inst], i) => (inst ? [`p${i}`] : [])));
    expect(r.packages.find((p) => p.name === "p4")?.metadata).toEqual({ status: "install ok unpacked" });
    expect(r.packages.find((p) => p.name === "p0")?.metadata).toBeUndefined();
  });

  it("reads source name and version, epoch and arch", () => {
    const text = [
      "Package: libgcc1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-5 (5.1.1-12ubuntu1)\nVersion: 1:5.1.1-12ubuntu1\n",
      "Package: libpam-runtime\nStatus: install ok installed\nArchitecture: all\nSource: pam\nVersion: 1.1.8-3.1ubuntu3\n",
      "Package: docker-ce\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5:20.10.7~3-0~debian-buster\n",
    ].join("\n");
    const [gcc, pam, docker] = parse(text).packages;
    expect(gcc).toMatchObject({
      name: "libgcc1",
      version: "1:5.1.1-12ubuntu1",
      epoch: 1,
      arch: "amd64",
      sourceName: "gcc-5",
      sourceVersion: "5.1.1-12ubuntu1",
      ecosystem: "deb",
      path: STATUS,
      purl: "pkg:deb/libgcc1@1:5.1.1-12ubuntu1?arch=amd64&upstream=gcc-5%405.1.1-12ubuntu1",
    });
    expect(pam).toMatchObject({ sourceName: "pam", sourceVersion: "1.1.8-3.1ubuntu3", epoch: undefined });
    expect(docker).toMatchObject({
      sourceName: "docker-ce",
      sourceVersion: "5:20.10.7~3-0~debian-buster",
      epoch: 5,
    });
    expect(osPurl(pam!, { id: "ubuntu", versionId: "16.04" })).toBe(
      "pkg:deb/ubuntu/libpam-runtime@1.1.8-3.1ubuntu3?arch=all&distro=ubuntu-16.04&upstream=pam",
    );
  });

  it("reads CRLF files and case-insensitive field names", () => {
    const r = parse(
      "package: a\r\nstatus: install ok installed\r\nversion: 2.0\r\n\r\nPackage: b\r\nVersion: 3\r\n",
    );
    expect(r.packages.map((p) => `${p.name}@${p.version}`)).toEqual(["a@2.0", "b@3"]);
  });

  it("records paragraphs it cannot use, keeps the rest", () => {
    const text =
      stanza("ok1", "install ok installed") +
      "\nPackage: nover\nStatus: install ok installed\n" +
      "\nPackage: badver\nStatus: install ok installed\nVersion: 1:5.#\n" +
      "\nStatus: install ok installed\nVersion: 1\n" +
      "\nPackage: badstatus\nStatus: installed\nVersion: 1\n" +
      "\nthis line is garbage\n" +
      "\n" +
      stanza("ok2", "install ok installed");
    const r = parse(text);
    expect(r.packages.map((p) => p.name)).toEqual(["ok1", "ok2"]);
    const problems = r.problems!.join("\n");
    expect(problems).toMatch(/nover: installed package without a Version/);
    expect(problems).toMatch(/badver: invalid Version "1:5.#"/);
    expect(problems).toMatch(/paragraph without a Package name/);
    expect(problems).toMatch(/badstatus: malformed Status/);
    expect(problems).toMatch(/not a "Field: value" line/);
  });

  it("survives truncation at every byte, never reporting a package it did not fully see", () => {
    const full = [
      stanza("a", "install ok installed"),
      stanza("b", "install ok installed", "Source: bb (0.9)\n"),
    ].join("\n");
    const whole = parse(full).packages;
    for (let n = 0; n <= full.length; n++) {
      const r = parse(full.slice(0, n));
      for (const p of r.packages) expect(whole.map((w) => w.name)).toContain(p.name);
    }
    // Cut right before b's Version: b is a problem, not a silent gap.
    const cut = parse(full.slice(0, full.lastIndexOf("Version:")));
    expect(cut.packages.map((p) => p.name)).toEqual(["a"]);
    expect(cut.problems?.join("\n")).toMatch(/b: installed package without a Version/);
  });

  it("turns random bytes into capped problems", () => {
    for (const seed of [1, 2, 3]) {
      const r = parse(randomBytes(200_000, seed));
      expect(r.packages).toEqual([]);
      expect(r.problems!.length).toBeGreaterThan(0);
      expect(r.problems!.length).toBeLessThanOrEqual(21);
    }
  });

  it("stays linear on megabytes of lines without a colon", () => {
    const r = parse("x\n".repeat(5_000_000) + stanza("last", "install ok installed"));
    expect(r.packages.map((p) => p.name)).toEqual(["last"]);
    expect(r.problems?.at(-1)).toMatch(/more problems/);
  });

  it("reads a large status file in one pass", () => {
    const text = Array.from({ length: 20_000 }, (_, i) => stanza(`pkg${i}`, "install ok installed")).join(
      "\n",
    );
    expect(parse(text).packages).toHaveLength(20_000);
  });

  it("matches the status file and distroless status.d files, not their md5sums", () => {
    const m = (p: string) => dpkgCataloger.matches(p, 0o644);
    expect(m("/var/lib/dpkg/status")).toBe(true);
    expect(m("/var/lib/dpkg/status.d/base-files")).toBe(true);
    expect(m("/var/lib/dpkg/status.d/libc6")).toBe(true);
    expect(m("/var/lib/dpkg/status.d/base-files.md5sums")).toBe(false);
    expect(m("/var/lib/dpkg/status.d/x/y")).toBe(false);
    expect(m("/var/lib/dpkg/status-old")).toBe(false);
    expect(m("/var/lib/dpkg/available")).toBe(false);
    expect(m("/usr/var/lib/dpkg/status")).toBe(false);
  });
});

describe("dpkg file lists", () => {
  const files = (text: string, path: string) => {
    const content = Buffer.from(text);
    return dpkgFilesCataloger.parse(
      { path, size: content.length, mode: 0o644, content },
      testContext,
    ) as CatalogResult;
  };

  it("keeps, of a package's file list, the paths that can be evidence of a language package", async () => {
    // testdata/python3-urllib3.list: /var/lib/dpkg/info/python3-urllib3.list of python3-urllib3
    // 1.26.12-1 (Debian bookworm), 59 paths
    const list = fileURLToPath(new URL("testdata/python3-urllib3.list", import.meta.url));
    const r = await catalogPath(list, [dpkgFilesCataloger], {
      asPath: "var/lib/dpkg/info/python3-urllib3.list",
    });
    expect(r.problems).toEqual([]);
    expect(r.packages).toEqual([]);
    expect(r.owned).toEqual([
      ["/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info", "python3-urllib3"],
      ["/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO", "python3-urllib3"],
    ]);
  });

  it("names the owner without its architecture, and reads distroless md5sums (relative paths)", () => {
    const lib = files(
      "/.\n/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec\n/usr/lib/libruby.so\n",
      "/var/lib/dpkg/info/libruby3.1:amd64.list",
    );
    expect(lib.owned).toEqual([
      ["/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", "libruby3.1"],
    ]);
    const md5 = files(
      "25de5fcdc3c8ebd9c9f599fb7a899b40  usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA\r\n" +
        "5bf0e62990e0b668830ceb2c8615b497  usr/lib/python3/dist-packages/six.py\n" +
        "no separator line\n",
      "/var/lib/dpkg/status.d/python3-six.md5sums",
    );
    expect(md5.owned).toEqual([
      ["/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", "python3-six"],
    ]);
  });

  it("keeps lock files an OS package ships, and nothing of random bytes", () => {
    expect(
      files("/usr/share/doc/node-foo/examples/package-lock.json\n", "/var/lib/dpkg/info/node-foo.list").owned,
    ).toEqual([["/usr/share/doc/node-foo/examples/package-lock.json", "node-foo"]]);
    const r = files(randomBytes(100_000, 3).toString("latin1"), "/var/lib/dpkg/info/x.list");
    expect(r).toEqual({ packages: [], owned: [] });
  });

  it("matches info/*.list and status.d/*.md5sums only", () => {
    const m = (p: string) => dpkgFilesCataloger.matches(p, 0o644);
    expect(m("/var/lib/dpkg/info/python3-urllib3.list")).toBe(true);
    expect(m("/var/lib/dpkg/info/libc6:amd64.list")).toBe(true);
    expect(m("/var/lib/dpkg/status.d/base-files.md5sums")).toBe(true);
    expect(m("/var/lib/dpkg/info/libc6.md5sums")).toBe(false);
    expect(m("/var/lib/dpkg/info/x/y.list")).toBe(false);
    expect(m("/var/lib/dpkg/info/.list")).toBe(false);
    expect(m("/var/lib/dpkg/status")).toBe(false);
    expect(dpkgCataloger.matches("/var/lib/dpkg/info/python3-urllib3.list", 0o644)).toBe(false);
  });
});

describe("isDebVersion", () => {
  it("follows Debian policy", () => {
    for (const v of [
      "1.0",
      "1:2.30-1",
      "2.33.1-0.1",
      "5:20.10.7~3-0~debian-buster",
      "1.2+dfsg-1ubuntu0.1",
      "0",
    ])
      expect(isDebVersion(v), v).toBe(true);
    for (const v of ["", "5.#", "a1.0", "1:", "x:1.0", "1.0-", "1.0-a:b", "1.0 2"])
      expect(isDebVersion(v), v).toBe(false);
  });
});
