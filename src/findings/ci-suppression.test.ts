import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repositoryOf } from "../cli/scan.js";
import { ConfigError } from "../core/errors.js";
import { applyCiSuppression, readVexFiles, suppressedLines } from "./ci-suppression.js";
import { testFinding } from "./testing.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-ci-vex-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const openvex = (statements: unknown[]) =>
  JSON.stringify({ "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", statements });

describe("drydock scan --vex and exceptions", () => {
  it("suppresses not_affected and excepted findings with why, shows other VEX statuses", async () => {
    const path = join(dir, "app.openvex.json");
    await writeFile(
      path,
      openvex([
        {
          vulnerability: { name: "CVE-2023-0286" },
          status: "not_affected",
          justification: "component_not_present",
        },
        { vulnerability: { name: "CVE-2024-0001" }, status: "affected", action_statement: "upgrade" },
      ]),
    );
    const vex = await readVexFiles([path]);
    const a = testFinding();
    const b = testFinding({ vulnerabilityId: "CVE-2024-0001" });
    const c = testFinding({ vulnerabilityId: "CVE-2024-0002" });
    const d = testFinding({ vulnerabilityId: "CVE-2024-0003" });
    const r = applyCiSuppression([a, b, c, d], {
      vex,
      exceptions: [
        {
          name: "accept-c",
          reason: "not reachable",
          owner: "alice",
          expiresAt: Date.parse("2030-01-01T00:00:00Z"),
          vulnerability: "CVE-2024-0002",
          repositories: ["prod/**"],
        },
        {
          name: "other-repo",
          reason: "x",
          owner: "bob",
          expiresAt: Date.parse("2030-01-01T00:00:00Z"),
          vulnerability: "CVE-2024-0003",
          repositories: ["dev/*"],
        },
      ],
      repository: "prod/team/api",
    });
    expect(r.kept).toEqual([b, d]);
    expect(r.suppressed.map((s) => [s.finding.vulnerabilityId, s.by.map((x) => x.kind)])).toEqual([
      ["CVE-2023-0286", ["vex"]],
      ["CVE-2024-0002", ["exception"]],
    ]);
    expect(r.vex.get(b)).toMatchObject({ status: "affected", action: "upgrade", source: path });
    expect(suppressedLines(r.suppressed)).toEqual([
      `  CVE-2023-0286  openssl 3.0.7-1  VEX not_affected (component_not_present) in ${path}`,
      "  CVE-2024-0002  openssl 3.0.7-1  exception accept-c by alice until 2030-01-01T00:00:00.000Z: not reachable",
    ]);
  });

  it("refuses unreadable and invalid VEX files, naming them", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, openvex([{ vulnerability: { name: "CVE-1" }, status: "not_affected" }]));
    await expect(readVexFiles([bad])).rejects.toThrow(ConfigError);
    await expect(readVexFiles([bad])).rejects.toThrow(`--vex ${bad}: OpenVEX: statements[0]: a not_affected`);
    await expect(readVexFiles([join(dir, "missing.json")])).rejects.toThrow(/cannot read it/);
  });

  it("the repository of an image reference", () => {
    expect(repositoryOf("registry.example.com/prod/api:1.0")).toBe("prod/api");
    expect(repositoryOf("localhost:5000/team/app@sha256:" + "a".repeat(64))).toBe("team/app");
    expect(repositoryOf("docker://registry.example.com/prod/api:1")).toBe("prod/api");
    expect(repositoryOf("oci:/tmp/layout:tag")).toBeUndefined();
    expect(repositoryOf("oci-archive:/tmp/x.tar")).toBeUndefined();
    expect(repositoryOf("alpine")).toBeUndefined();
  });
});
