import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildElf } from "../golang/elf-testing.js";
import { catalogRustBinary, rustBinaryCataloger } from "./auditable.js";
import { catalogCargoLock, cargoLockCataloger } from "./cargolock.js";

const AUDIT = {
  packages: [
    { name: "app", version: "0.1.0", source: "local", root: true, dependencies: [1, 2, 3] },
    { name: "serde", version: "1.0.190", source: "crates.io", dependencies: [] },
    { name: "cc", version: "1.0.83", source: "crates.io", kind: "build" },
    { name: "forked", version: "0.2.0", source: "git" },
  ],
};
const file = (content: Buffer) => ({ path: "/usr/local/bin/app", content });
const depSection = (json: unknown) => deflateSync(Buffer.from(JSON.stringify(json)));

describe("cargo-auditable binaries", () => {
  it("reports runtime crates from .dep-v0", () => {
    const elf = buildElf([
      { name: ".text", data: Buffer.alloc(64) },
      { name: ".dep-v0", data: depSection(AUDIT) },
    ]);
    const r = catalogRustBinary(file(elf));
    expect(r.problems).toBeUndefined();
    expect(r.packages.map((p) => [p.name, p.version, p.purl, p.metadata])).toEqual([
      ["app", "0.1.0", "pkg:cargo/app@0.1.0", { local: true, root: true }],
      ["serde", "1.0.190", "pkg:cargo/serde@1.0.190", { source: "crates.io" }],
      ["forked", "0.2.0", "pkg:cargo/forked@0.2.0", { source: "git" }],
    ]);
    expect(r.packages.every((p) => p.ecosystem === "cargo" && p.path === "/usr/local/bin/app")).toBe(true);
  });

  it("dismisses other files and records damaged dependency data", () => {
    for (const content of [Buffer.from("#!/bin/sh\n"), buildElf([{ name: ".text", data: Buffer.alloc(8) }])])
      expect(catalogRustBinary(file(content))).toEqual({ packages: [] });
    const bad: [Buffer, RegExp][] = [
      [Buffer.from("not zlib"), /unreadable cargo-auditable data/],
      [deflateSync(Buffer.from("{nope")), /not JSON/],
      [deflateSync(Buffer.from('{"version": 1}')), /without a packages list/],
      [deflateSync(Buffer.alloc(9 << 20, 0x20)), /inflates beyond/],
      [depSection({ packages: [{ name: "x" }, null, 5] }), /#0: no name or version/],
    ];
    for (const [data, err] of bad) {
      const r = catalogRustBinary(file(buildElf([{ name: ".dep-v0", data }])));
      expect(r.packages).toEqual([]);
      expect(r.problems?.[0]).toMatch(err);
    }
    expect(catalogRustBinary(file(Buffer.from("\x7fELF\x02\x01 truncated"))).problems).toHaveLength(1);
  });

  it("reads the section from a real rustc binary (section added with objcopy)", (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), "drydock-rust-"));
    try {
      writeFileSync(join(dir, "main.rs"), 'fn main() { println!("hi"); }\n');
      writeFileSync(join(dir, "dep.z"), depSection(AUDIT));
      try {
        execFileSync("rustc", ["-o", join(dir, "plain"), join(dir, "main.rs")], { stdio: "pipe" });
        execFileSync(
          "objcopy",
          ["--add-section", `.dep-v0=${join(dir, "dep.z")}`, join(dir, "plain"), join(dir, "app")],
          {
            stdio: "pipe",
          },
        );
      } catch {
        ctx.skip();
      }
      expect(catalogRustBinary(file(readFileSync(join(dir, "plain"))))).toEqual({ packages: [] });
      const r = catalogRustBinary(file(readFileSync(join(dir, "app"))));
      expect(r.packages.map((p) => `${p.name}@${p.version}`)).toEqual([
        "app@0.1.0",
        "serde@1.0.190",
        "forked@0.2.0",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("matches executables only", () => {
    expect(rustBinaryCataloger.matches("/usr/bin/x", 0o755)).toBe(true);
    expect(rustBinaryCataloger.matches("/usr/bin/x", 0o644)).toBe(false);
  });
});

describe("Cargo.lock", () => {
  it("names other registries in the purl and marks path crates local", () => {
    const r = catalogCargoLock({
      path: "/src/Cargo.lock",
      content: Buffer.from(
        [
          "version = 4",
          "[[package]]",
          'name = "app"',
          'version = "0.1.0"',
          "[[package]]",
          'name = "internal"',
          'version = "2.0.0"',
          'source = "sparse+https://cargo.example.com/index/"',
          "[[package]]",
          'name = "serde"',
          'version = "1.0.0"',
          'source = "sparse+https://index.crates.io/"',
          "[[package]]",
          'name = "broken"',
          "",
        ].join("\n"),
      ),
    });
    expect(r.packages.map((p) => [p.purl, p.metadata?.local])).toEqual([
      ["pkg:cargo/app@0.1.0", true],
      ["pkg:cargo/internal@2.0.0?repository_url=https:%2F%2Fcargo.example.com%2Findex%2F", undefined],
      ["pkg:cargo/serde@1.0.0", undefined],
    ]);
    expect(r.problems).toEqual(["[[package]] #4: no name or version"]);
  });

  it("matches Cargo.lock outside cargo's caches", () => {
    expect(cargoLockCataloger.matches("/app/Cargo.lock", 0o644)).toBe(true);
    expect(
      cargoLockCataloger.matches(
        "/usr/local/cargo/registry/src/index.crates.io-6f17/serde-1.0.0/Cargo.lock",
        0o644,
      ),
    ).toBe(false);
    expect(cargoLockCataloger.matches("/root/.cargo/git/checkouts/regex-abc/1a069b9/Cargo.lock", 0o644)).toBe(
      false,
    );
    expect(cargoLockCataloger.matches("/app/Cargo.toml", 0o644)).toBe(false);
  });
});
