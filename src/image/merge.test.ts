import { describe, expect, it } from "vitest";
import { catalogers, distroDetectors } from "../catalog/registry.js";
import { analyzeLayerTar, type LayerInventory } from "./analyze-layer.js";
import { mergeLayers, type MergedInventory } from "./merge.js";
import { DEBIAN_OS_RELEASE, dpkgStatus, sha256, tarball, type TarEntrySpec } from "./testdata/images.js";

const LIMITS = {
  maxEntries: 10_000,
  maxBytes: 1 << 30,
  maxFileBytes: 1 << 24,
  maxNestedArchiveBytes: 1 << 24,
};

async function* once(b: Buffer) {
  yield b;
}

/** Analyzes layers given as tar entries (diffIDs are the real digests) and merges them. */
async function stack(
  ...layers: TarEntrySpec[][]
): Promise<{ merged: MergedInventory; layers: LayerInventory[] }> {
  const invs: LayerInventory[] = [];
  for (const entries of layers) {
    const tar = tarball(entries);
    invs.push(
      await analyzeLayerTar(sha256(tar), once(tar), { catalogers, detectors: distroDetectors }, LIMITS),
    );
  }
  for (const l of invs) expect(l.complete, JSON.stringify(l.problems)).toBe(true);
  return { merged: mergeLayers(invs, distroDetectors), layers: invs };
}

const npm = (name: string, version: string, dir = "/app/node_modules"): TarEntrySpec => ({
  name: `${dir}/${name}/package.json`,
  body: JSON.stringify({ name, version }),
});
const status = (pkgs: { name: string; version: string; status?: string }[]): TarEntrySpec => ({
  name: "var/lib/dpkg/status",
  body: dpkgStatus(pkgs),
});
const names = (m: MergedInventory) => m.packages.map((p) => `${p.name}@${p.version}`);
const layerOf = (m: MergedInventory, name: string) => m.packages.find((p) => p.name === name)?.layer;

describe("mergeLayers: whiteouts", () => {
  it("a .wh. file deletes a cataloged file of a lower layer", async () => {
    const { merged } = await stack(
      [npm("a", "1.0.0"), npm("b", "1.0.0")],
      [{ name: "app/node_modules/a/.wh.package.json" }],
    );
    expect(names(merged)).toEqual(["b@1.0.0"]);
  });

  it("a .wh. directory deletes everything below it", async () => {
    const { merged } = await stack(
      [npm("a", "1.0.0"), npm("b", "1.0.0"), npm("c", "1.0.0", "/app/node_modules/b/node_modules")],
      [{ name: "app/node_modules/.wh.b" }],
    );
    expect(names(merged)).toEqual(["a@1.0.0"]);
  });

  it("an opaque directory hides lower content below it but keeps what its own layer writes", async () => {
    const { merged } = await stack(
      [npm("a", "1.0.0"), npm("b", "1.0.0"), npm("x", "1.0.0", "/other/node_modules")],
      [{ name: "app/node_modules/.wh..wh..opq" }, npm("c", "2.0.0")],
    );
    expect(names(merged)).toEqual(["c@2.0.0", "x@1.0.0"]);
  });

  it("the opaque marker applies whatever its position in the tar (after the new files)", async () => {
    const { merged } = await stack(
      [npm("a", "1.0.0")],
      [npm("c", "2.0.0"), { name: "app/node_modules/.wh..wh..opq" }],
    );
    expect(names(merged)).toEqual(["c@2.0.0"]);
  });

  it("whiteouts hide lower layers only, never a file of their own layer", async () => {
    const { merged } = await stack(
      [npm("a", "1.0.0")],
      [{ name: "app/node_modules/.wh.a" }, npm("a", "2.0.0")],
    );
    expect(names(merged)).toEqual(["a@2.0.0"]);
  });

  it("a file deleted and later re-created comes back, attributed to the layer that re-created it", async () => {
    const { merged, layers } = await stack(
      [npm("a", "1.0.0")],
      [{ name: "app/node_modules/.wh.a" }],
      [npm("a", "1.0.0")],
    );
    expect(names(merged)).toEqual(["a@1.0.0"]);
    expect(layerOf(merged, "a")).toBe(layers[2]!.diffID);
  });

  it("the distro disappears with a whited-out os-release", async () => {
    const { merged } = await stack(
      [{ name: "etc/os-release", body: DEBIAN_OS_RELEASE }],
      [{ name: "etc/.wh.os-release" }],
    );
    expect(merged.distro).toBeNull();
  });
});

describe("mergeLayers: layer attribution", () => {
  it("keeps each package on the layer that introduced it when dpkg's status file is rewritten", async () => {
    const base = [
      { name: "base-files", version: "12.4" },
      { name: "libc6", version: "2.36-9" },
    ];
    const { merged, layers } = await stack(
      [status(base)],
      [status([...base, { name: "curl", version: "7.88.1-10" }, { name: "openssl", version: "3.0.11-1" }])],
      // layer 3: curl purged, libc6 upgraded: status rewritten again
      [
        status([
          { name: "base-files", version: "12.4" },
          { name: "libc6", version: "2.36-9+deb12u1" },
          { name: "openssl", version: "3.0.11-1" },
        ]),
      ],
    );
    const [l1, l2, l3] = layers.map((l) => l.diffID);
    expect(names(merged)).toEqual(["base-files@12.4", "libc6@2.36-9+deb12u1", "openssl@3.0.11-1"]);
    expect(layerOf(merged, "base-files")).toBe(l1);
    expect(layerOf(merged, "openssl")).toBe(l2);
    expect(layerOf(merged, "libc6")).toBe(l3); // a new version is a new package
    expect(merged.packages.every((p) => p.path === "/var/lib/dpkg/status")).toBe(true);
  });

  it("a package that disappears and reappears in a rewrite of its file is re-introduced", async () => {
    const a = { name: "a", version: "1" };
    const b = { name: "b", version: "1" };
    const { merged, layers } = await stack([status([a, b])], [status([a])], [status([a, b])]);
    expect(layerOf(merged, "a")).toBe(layers[0]!.diffID);
    expect(layerOf(merged, "b")).toBe(layers[2]!.diffID);
  });

  it("a file replaced in an upper layer replaces its packages", async () => {
    const { merged, layers } = await stack([npm("lodash", "4.17.15")], [npm("lodash", "4.17.21")]);
    expect(names(merged)).toEqual(["lodash@4.17.21"]);
    expect(layerOf(merged, "lodash")).toBe(layers[1]!.diffID);
  });

  it("a file rewritten unchanged keeps its packages on the lower layer", async () => {
    const { merged, layers } = await stack([npm("lodash", "4.17.15")], [npm("lodash", "4.17.15")]);
    expect(layerOf(merged, "lodash")).toBe(layers[0]!.diffID);
  });

  it("a status file made unreadable in an upper layer leaves no stale packages, and a problem", async () => {
    const { merged } = await stack(
      [status([{ name: "a", version: "1" }])],
      [{ name: "var/lib/dpkg/status", body: "Package: \u0000\u0001garbage without fields" }],
    );
    expect(names(merged)).toEqual([]);
    expect(merged.problems).toEqual([
      expect.objectContaining({ path: "/var/lib/dpkg/status", source: "dpkg-status" }),
    ]);
  });
});

describe("mergeLayers: entries replacing lower paths", () => {
  it("a symlink replacing a lower directory hides everything below it", async () => {
    const { merged } = await stack(
      [npm("a", "1.0.0")],
      [{ name: "app/node_modules", type: "2", linkname: "/srv/nm" }],
    );
    expect(names(merged)).toEqual([]);
  });

  it("a symlink replacing a cataloged file removes its packages", async () => {
    const { merged } = await stack(
      [npm("a", "1.0.0")],
      [{ name: "app/node_modules/a/package.json", type: "2", linkname: "/nowhere/package.json" }],
    );
    expect(names(merged)).toEqual([]);
    expect(merged.problems.map((p) => p.reason)).toEqual([
      "symlink to /nowhere/package.json (inside the image root), which is not a file the catalogers read",
    ]);
  });

  it("a symlink replacing a nested node_modules hides it; a plain file no cataloger wants does not (known limit)", async () => {
    // Documented in merge.ts: uncataloged regular files are not recorded, so they hide nothing.
    const { merged } = await stack([npm("a", "1.0.0", "/x/node_modules")], [{ name: "x", body: "" }]);
    expect(names(merged)).toEqual(["a@1.0.0"]);
    const { merged: m2 } = await stack(
      [npm("a", "1.0.0", "/app/node_modules/b/node_modules")],
      [npm("b", "1.0.0"), { name: "app/node_modules/b/node_modules", type: "2", linkname: "." }],
    );
    expect(names(m2)).toEqual(["b@1.0.0"]);
  });

  it("the later of two entries for one path in one layer wins", async () => {
    const { merged } = await stack([npm("a", "1.0.0"), npm("a", "2.0.0")]);
    expect(names(merged)).toEqual(["a@2.0.0"]);
  });
});

describe("mergeLayers: links", () => {
  it("a hard link in the same layer carries the packages of its target", async () => {
    const { merged } = await stack([
      npm("a", "1.0.0"),
      { name: "app/node_modules/b/package.json", type: "1", linkname: "app/node_modules/a/package.json" },
    ]);
    expect(merged.packages.map((p) => `${p.name} ${p.path}`)).toEqual([
      "a /app/node_modules/a/package.json",
      "a /app/node_modules/b/package.json",
    ]);
  });

  it("a hard link to a file of a lower layer carries its packages, attributed to the link's layer", async () => {
    const { merged, layers } = await stack(
      [npm("a", "1.0.0")],
      [{ name: "app/node_modules/b/package.json", type: "1", linkname: "/app/node_modules/a/package.json" }],
    );
    const atB = merged.packages.find((p) => p.path === "/app/node_modules/b/package.json");
    expect(atB?.layer).toBe(layers[1]!.diffID);
    expect(merged.packages).toHaveLength(2);
  });

  it("a hard link to a file no cataloger read is a problem, not a silent gap", async () => {
    const { merged } = await stack([
      { name: "srv/pkg.json", body: JSON.stringify({ name: "x", version: "1.0.0" }) },
      { name: "app/node_modules/x/package.json", type: "1", linkname: "srv/pkg.json" },
    ]);
    expect(names(merged)).toEqual([]);
    expect(merged.problems[0]).toMatchObject({
      path: "/app/node_modules/x/package.json",
      source: "image",
      reason: expect.stringMatching(/hard link to \/srv\/pkg.json/),
    });
  });

  it("a hard link climbing above the root is ignored with a problem", async () => {
    const { layers } = await stack([
      { name: "app/node_modules/x/package.json", type: "1", linkname: "../../../../etc/passwd" },
    ]);
    expect(layers[0]!.problems[0]!.reason).toMatch(/climbs above the image root/);
  });

  it("finds the distro through /etc/os-release -> ../usr/lib/os-release", async () => {
    const { merged } = await stack([
      {
        name: "usr/lib/os-release",
        body: DEBIAN_OS_RELEASE.replace('VERSION_ID="12"', 'VERSION_ID="12.99"'),
      },
      { name: "etc/os-release", type: "2", linkname: "../usr/lib/os-release" },
    ]);
    expect(merged.distro?.versionId).toBe("12.99");
    expect(merged.problems).toEqual([]);
  });

  it("follows an os-release link over layers, the link in an upper layer", async () => {
    const { merged } = await stack(
      [
        { name: "etc/os-release", body: 'ID=alpine\nVERSION_ID="3.19.1"\n' },
        { name: "usr/lib/os-release", body: DEBIAN_OS_RELEASE },
      ],
      [{ name: "etc/os-release", type: "2", linkname: "/usr/lib/os-release" }],
    );
    expect(merged.distro?.id).toBe("debian");
  });

  it("a cataloged link pointing above the root resolves inside it and is reported, never read from the host", async () => {
    const { merged } = await stack([
      { name: "etc/os-release", type: "2", linkname: "../../../../../../../../etc/hostname" },
    ]);
    expect(merged.distro).toBeNull();
    expect(merged.problems).toEqual([
      expect.objectContaining({
        path: "/etc/os-release",
        reason: "symlink to /etc/hostname (inside the image root), which is not a file the catalogers read",
      }),
    ]);
  });

  it("a symlink loop is reported, not followed forever", async () => {
    const { merged } = await stack([
      { name: "etc/os-release", type: "2", linkname: "os-release.d" },
      { name: "etc/os-release.d", type: "2", linkname: "/etc/os-release" },
      { name: "usr/lib/os-release", body: DEBIAN_OS_RELEASE },
    ]);
    expect(merged.distro?.id).toBe("debian"); // the next detector path
    expect(merged.problems.map((p) => p.reason)).toEqual(["symlink loop (more than 40 links): not followed"]);
  });

  it("symlinks to cataloged files add no duplicate packages", async () => {
    const { merged } = await stack([
      npm("a", "1.0.0", "/opt/node_modules"),
      { name: "app/node_modules/a", type: "2", linkname: "/opt/node_modules/a" },
      { name: "app/node_modules/b/package.json", type: "2", linkname: "/opt/node_modules/a/package.json" },
    ]);
    expect(merged.packages.map((p) => p.path)).toEqual(["/opt/node_modules/a/package.json"]);
    expect(merged.problems).toEqual([]);
  });
});

describe("mergeLayers: output", () => {
  it("sorts packages in a stable, locale-independent order", async () => {
    const { merged } = await stack([
      npm("b", "1.0.0"),
      npm("B", "1.0.0", "/x/node_modules"),
      npm("a", "2.0.0"),
    ]);
    expect(names(merged)).toEqual(["B@1.0.0", "a@2.0.0", "b@1.0.0"]);
  });
});
