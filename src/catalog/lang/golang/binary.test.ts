import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogGoBinary, goBinaryCataloger } from "./binary.js";
import { readGoBuildInfo } from "./buildinfo.js";
import { splitFlags, versionFromLdflags } from "./ldflags.js";
import { parseModInfo, unquoteGo } from "./modinfo.js";
import { stdlibVersion } from "./package.js";
import { buildElf, framedModinfo, inlineBuildInfo } from "./elf-testing.js";

const MODINFO = [
  "path\texample.com/app/cmd/app",
  "mod\texample.com/app\t(devel)\t",
  "dep\tgolang.org/x/net\tv0.7.0\th1:abc=",
  "dep\tgithub.com/old/mod\tv1.0.0\th1:def=",
  "=>\tgithub.com/new/mod\tv1.1.0\th1:ghi=",
  "dep\tgithub.com/local/mod\tv0.0.0",
  "=>\t../mod\t(devel)\t",
  "build\t-compiler=gc",
  'build\t-ldflags="-s -w -X example.com/app/internal/version.Version=v2.3.4"',
  "build\tvcs.revision=0123abcd",
  "",
].join("\n");

const ids = (r: { packages: { name: string; version: string }[] }) =>
  r.packages.map((p) => `${p.name}@${p.version}`);
const file = (content: Buffer) => ({ path: "/usr/local/bin/app", content });

describe("Go build info", () => {
  it("reads Go >= 1.18 inline build info from .go.buildinfo", () => {
    const elf = buildElf([
      { name: ".text", data: Buffer.alloc(100, 0x90) },
      { name: ".go.buildinfo", data: inlineBuildInfo("go1.22.1 X:boringcrypto", framedModinfo(MODINFO)) },
    ]);
    const r = catalogGoBinary(file(elf));
    expect(r.problems).toBeUndefined();
    expect(ids(r)).toEqual([
      "stdlib@v1.22.1",
      "example.com/app@v2.3.4",
      "golang.org/x/net@v0.7.0",
      "github.com/new/mod@v1.1.0",
      "github.com/local/mod@",
    ]);
    expect(r.packages.map((p) => [p.purl, p.metadata])).toEqual([
      ["pkg:golang/stdlib@v1.22.1", { goVersion: "go1.22.1 X:boringcrypto" }],
      ["pkg:golang/example.com/app@v2.3.4", { main: true, versionFrom: "ldflags" }],
      ["pkg:golang/golang.org/x/net@v0.7.0", undefined],
      ["pkg:golang/github.com/new/mod@v1.1.0", { replaces: "github.com/old/mod@v1.0.0" }],
      ["pkg:golang/github.com/local/mod", { replace: "../mod" }],
    ]);
  });

  it("reads pre-1.18 pointer build info through the address mapping, 32/64-bit, both byte orders", () => {
    for (const is64 of [true, false])
      for (const bigEndian of [false, true]) {
        const ptr = is64 ? 8 : 4;
        const put = (b: Buffer, o: number, v: number) => {
          if (is64) {
            if (bigEndian) b.writeBigUInt64BE(BigInt(v), o);
            else b.writeBigUInt64LE(BigInt(v), o);
          } else if (bigEndian) b.writeUInt32BE(v, o);
          else b.writeUInt32LE(v, o);
        };
        const vers = Buffer.from("go1.16.4");
        const mod = framedModinfo(
          "path\texample.com/old\nmod\texample.com/old\tv1.0.0\t\ndep\tgithub.com/x/y\tv0.1.0\t\n",
        );
        const elf = buildElf(
          [
            { name: ".rodata", data: Buffer.concat([vers, mod]) },
            {
              name: ".data",
              data: (at) => {
                const b = Buffer.alloc(4 * ptr);
                put(b, 0, at(".rodata"));
                put(b, ptr, vers.length);
                put(b, 2 * ptr, at(".rodata") + vers.length);
                put(b, 3 * ptr, mod.length);
                return b;
              },
            },
            {
              name: ".go.buildinfo",
              data: (at) => {
                const b = Buffer.alloc(32);
                b.write("\xff Go buildinf:", 0, "latin1");
                b[14] = ptr;
                b[15] = bigEndian ? 1 : 0;
                put(b, 16, at(".data"));
                put(b, 16 + ptr, at(".data") + 2 * ptr);
                return b;
              },
            },
          ],
          { is64, bigEndian },
        );
        const r = catalogGoBinary(file(elf));
        expect(r.problems, `is64=${is64} be=${bigEndian}`).toBeUndefined();
        expect(ids(r)).toEqual(["stdlib@v1.16.4", "example.com/old@v1.0.0", "github.com/x/y@v0.1.0"]);
      }
  });

  it("finds build info without section headers, and in PE / Mach-O files", () => {
    const info = inlineBuildInfo("go1.21.0", framedModinfo("path\tx\nmod\texample.com/x\tv1.0.0\t\n"));
    const stripped = buildElf([{ name: ".data", data: Buffer.concat([Buffer.alloc(48), info]) }], {
      noSectionHeaders: true,
    });
    expect(ids(catalogGoBinary(file(stripped)))).toEqual(["stdlib@v1.21.0", "example.com/x@v1.0.0"]);
    const pe = Buffer.concat([Buffer.from("MZ"), Buffer.alloc(510), info, Buffer.alloc(64)]);
    expect(ids(catalogGoBinary(file(pe)))).toEqual(["stdlib@v1.21.0", "example.com/x@v1.0.0"]);
    const macho = Buffer.concat([Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), Buffer.alloc(1020), info]);
    expect(ids(catalogGoBinary(file(macho)))).toEqual(["stdlib@v1.21.0", "example.com/x@v1.0.0"]);
  });

  it("dismisses non-Go files quietly and records damaged Go binaries as problems", () => {
    for (const content of [
      Buffer.from("#!/bin/sh\necho hi\n"),
      Buffer.alloc(0),
      Buffer.from("AAAAAAAAAAAAAAAA"),
      buildElf([{ name: ".text", data: Buffer.alloc(64) }]),
    ])
      expect(catalogGoBinary(file(content))).toEqual({ packages: [] });

    const truncated = inlineBuildInfo("go1.22.1", framedModinfo(MODINFO)).subarray(0, 60);
    for (const content of [
      Buffer.from("\x7fELF garbage that is not an ELF header"),
      buildElf([{ name: ".go.buildinfo", data: truncated }]),
      buildElf([{ name: ".go.buildinfo", data: Buffer.alloc(64) }]),
      buildElf([{ name: ".go.buildinfo", data: inlineBuildInfo("", "") }]),
    ]) {
      const r = catalogGoBinary(file(content));
      expect(r.packages).toEqual([]);
      expect(r.problems).toHaveLength(1);
    }
    const upx = buildElf([{ name: ".text", data: Buffer.alloc(64) }], { noSectionHeaders: true });
    upx.write("UPX!", 0xb0, "latin1");
    expect(catalogGoBinary(file(upx)).problems).toEqual([
      "UPX-packed executable: its contents (Go build info) cannot be read",
    ]);
    const devel = buildElf([{ name: ".go.buildinfo", data: inlineBuildInfo("devel go1.23-abcdef", "") }]);
    expect(catalogGoBinary(file(devel)).problems).toEqual([
      'unrecognized Go toolchain version "devel go1.23-abcdef": stdlib not reported',
    ]);
  });

  it("survives mutated binaries without throwing", () => {
    const elf = buildElf([
      { name: ".text", data: Buffer.alloc(64, 0x90) },
      { name: ".go.buildinfo", data: inlineBuildInfo("go1.22.1", framedModinfo(MODINFO)) },
    ]);
    let seed = 1;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let n = 0; n < 3000; n++) {
      const m = Buffer.from(elf);
      for (let k = 0; k < 3; k++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      expect(() => catalogGoBinary(file(m))).not.toThrow();
      expect(() => catalogGoBinary(file(m.subarray(0, Math.floor(rand() * m.length))))).not.toThrow();
    }
  });

  it("asks for executables only", () => {
    expect(goBinaryCataloger.matches("/usr/bin/app", 0o100755)).toBe(true);
    expect(goBinaryCataloger.matches("/usr/bin/app", 0o100744)).toBe(true);
    expect(goBinaryCataloger.matches("/usr/share/doc/x", 0o100644)).toBe(false);
  });
});

describe("Go build info pieces", () => {
  it("converts toolchain versions to semver", () => {
    expect(stdlibVersion("go1.19.8")).toBe("v1.19.8");
    expect(stdlibVersion("go1.22.3 X:boringcrypto")).toBe("v1.22.3");
    expect(stdlibVersion("go1.20")).toBe("v1.20.0");
    expect(stdlibVersion("go1.21rc2")).toBe("v1.21.0-rc.2");
    expect(stdlibVersion("go1.9beta1")).toBe("v1.9.0-beta.1");
    expect(stdlibVersion("devel go1.23-abc")).toBeUndefined();
  });

  it("parses module info with quoted settings", () => {
    const info = parseModInfo(
      'path\tp\nmod\tm\tv1.0.0\th1:x\nbuild\t"odd key"="a \\"b\\" \\u00e9"\nbuild\tGOOS=linux\nunknown\tline\n',
    );
    expect(info.main).toEqual({ path: "m", version: "v1.0.0", sum: "h1:x" });
    expect([...info.settings]).toEqual([
      ["odd key", 'a "b" é'],
      ["GOOS", "linux"],
    ]);
    expect(unquoteGo('"\\x41\\101\\t"')).toBe("AA\t");
    expect(unquoteGo('"bad\\q"')).toBeNull();
  });

  it("finds the stamped version in -ldflags like trivy", () => {
    const v = (flags: string, name = "github.com/aquasecurity/trivy") => versionFromLdflags(name, flags);
    expect(v("-s -w -X=foo=bar -X='github.com/aquasecurity/trivy/pkg/version/app.ver=v0.50.1'")).toBe(
      "v0.50.1",
    );
    expect(v('-X="github.com/aquasecurity/trivy/pkg/version.Ver=0.50.1"')).toBe("0.50.1");
    expect(
      v(
        "-X github.com/aquasecurity/trivy/cmd/Any.Ver=0.50.0 -X github.com/aquasecurity/trivy/pkg/version.Ver=0.50.1",
      ),
    ).toBe("0.50.0");
    expect(v("-X github.com/x/pkg/Common.Ver=0.50.0 -X github.com/x/pkg/Main.Ver=0.50.1")).toBeUndefined();
    expect(v("-X github.com/x/pkg/Any.Ver=0.50.1")).toBe("0.50.1");
    expect(
      v("-X github.com/argoproj/argo-cd/v2/common.kubectlVersion=v0.26.11", "github.com/argoproj/argo-cd/v2"),
    ).toBe(undefined);
    expect(v("-X main.version=not-a-version")).toBeUndefined();
    expect(splitFlags(`-s  -X 'a=b c' "d"`)).toEqual(["-s", "-X", "a=b c", "d"]);
  });
});

/** A real binary built by the machine's Go toolchain, offline: dependencies come from vendor/. */
describe("a binary built by go", () => {
  let dir = "";
  let goVersion = "";
  beforeAll(() => {
    try {
      goVersion = execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim();
    } catch {
      return;
    }
    dir = mkdtempSync(join(tmpdir(), "drydock-gobin-"));
    const files: Record<string, string> = {
      "go.mod": [
        "module example.com/demo",
        "go 1.17",
        "require (",
        "\texample.com/dep v1.2.3",
        "\texample.com/old v0.1.0",
        "\texample.com/local v0.0.0",
        ")",
        "replace example.com/old => example.com/new v0.2.0",
        "replace example.com/local => ./local",
        "",
      ].join("\n"),
      "main.go":
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/dep"\n\t"example.com/local"\n\t"example.com/old"\n)\n\n' +
        'var version = "dev"\n\nfunc main() { fmt.Println(dep.Hello(), old.Hello(), local.Hello(), version) }\n',
      "local/go.mod": "module example.com/local\n\ngo 1.17\n",
      "local/local.go": 'package local\n\nfunc Hello() string { return "local" }\n',
      "vendor/example.com/dep/dep.go": 'package dep\n\nfunc Hello() string { return "dep" }\n',
      "vendor/example.com/old/old.go": 'package old\n\nfunc Hello() string { return "new" }\n',
      "vendor/example.com/local/local.go": 'package local\n\nfunc Hello() string { return "local" }\n',
      "vendor/modules.txt": [
        "# example.com/dep v1.2.3",
        "## explicit",
        "example.com/dep",
        "# example.com/local v0.0.0 => ./local",
        "## explicit",
        "example.com/local",
        "# example.com/old v0.1.0 => example.com/new v0.2.0",
        "## explicit",
        "example.com/old",
        "# example.com/local => ./local",
        "# example.com/old => example.com/new v0.2.0",
        "",
      ].join("\n"),
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    // No -trimpath: cmd/go records -ldflags only without it.
    execFileSync("go", ["build", "-mod=vendor", "-ldflags=-s -w -X main.version=1.2.3", "-o", "demo", "."], {
      cwd: dir,
      env: { ...process.env, GOFLAGS: "", GOPROXY: "off", GOTOOLCHAIN: "local", CGO_ENABLED: "0" },
      stdio: "pipe",
    });
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reports stdlib, the main module (ldflags version), dependencies and replacements", (ctx) => {
    if (!dir) ctx.skip();
    const content = readFileSync(join(dir, "demo"));
    expect(readGoBuildInfo(content)?.goVersion).toBe(goVersion);
    const r = catalogGoBinary({ path: "/usr/local/bin/demo", content });
    expect(r.problems).toBeUndefined();
    expect(ids(r)).toEqual([
      `stdlib@${stdlibVersion(goVersion)}`,
      "example.com/demo@v1.2.3",
      "example.com/dep@v1.2.3",
      "example.com/local@",
      "example.com/new@v0.2.0",
    ]);
  });
});
