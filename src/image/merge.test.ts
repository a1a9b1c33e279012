import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { catalogers, distroDetectors } from "../catalog/registry.js";
import { analyzeLayerTar, type LayerInventory } from "./analyze-layer.js";
import { buildHeader, buildSqlite } from "../catalog/os/rpm/rpmdb-testing.js";
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

// --- OS-owned language packages and lock files (applications.ts) --------------------------

const file = (name: string, body: string): TarEntrySpec => ({ name: name.replace(/^\//, ""), body });
const pkgInfo = (dir: string, name: string, version: string): TarEntrySpec =>
  file(`${dir}/PKG-INFO`, `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
const distInfo = (site: string, name: string, version: string): TarEntrySpec =>
  file(
    `${site}/${name}-${version}.dist-info/METADATA`,
    `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
  );
const dpkgList = (pkg: string, paths: string[]): TarEntrySpec =>
  file(`/var/lib/dpkg/info/${pkg}.list`, ["/.", ...paths].join("\n") + "\n");
const gemspec = (path: string, name: string, version: string): TarEntrySpec =>
  file(path, `Gem::Specification.new do |s|\n  s.name = "${name}".freeze\n  s.version = "${version}"\nend\n`);
const of = (m: MergedInventory, name: string) => m.packages.filter((p) => p.name === name);
/** The real file list of Debian bookworm's python3-urllib3 1.26.12-1 (catalog/os/testdata). */
const urllib3List = readFileSync(
  fileURLToPath(new URL("../catalog/os/testdata/python3-urllib3.list", import.meta.url)),
  "utf8",
);
const URLLIB3_EGG = "/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info";
const base: TarEntrySpec[] = [
  { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
  status([{ name: "base-files", version: "12.4+deb12u5" }]),
];
const aptUrllib3: TarEntrySpec[] = [
  status([
    { name: "base-files", version: "12.4+deb12u5" },
    { name: "python3-urllib3", version: "1.26.12-1" },
  ]),
  file("/var/lib/dpkg/info/python3-urllib3.list", urllib3List),
  pkgInfo(URLLIB3_EGG, "urllib3", "1.26.12"),
];

describe("mergeLayers: language packages an OS package owns", () => {
  it("marks them ownedBy the OS package, across layers, and keeps them in the inventory", async () => {
    const { merged, layers } = await stack(base, aptUrllib3, [
      distInfo("/usr/local/lib/python3.11/dist-packages", "requests", "2.31.0"),
    ]);
    // the layer records only the list's one relevant file (and the egg-info entry itself)
    expect(layers[1]!.owned).toEqual({
      "/var/lib/dpkg/info/python3-urllib3.list": [
        [URLLIB3_EGG, "python3-urllib3"],
        [`${URLLIB3_EGG}/PKG-INFO`, "python3-urllib3"],
      ],
    });
    expect(of(merged, "urllib3")).toMatchObject([
      { ecosystem: "pypi", version: "1.26.12", metadata: { ownedBy: "python3-urllib3" } },
    ]);
    // pip's own install in /usr/local is nobody's
    expect(of(merged, "requests")[0]!.metadata).toBeUndefined();
  });

  it("ownership follows the database: a purge in a later layer (list whited out) ends it", async () => {
    const { merged } = await stack(base, aptUrllib3, [
      status([{ name: "base-files", version: "12.4+deb12u5" }]),
      { name: "var/lib/dpkg/info/.wh.python3-urllib3.list" },
    ]);
    // the egg-info stayed behind (say a later pip install wrote it): a Python package, no owner
    expect(of(merged, "urllib3")).toMatchObject([{ ecosystem: "pypi" }]);
    expect(of(merged, "urllib3")[0]!.metadata).toBeUndefined();
  });

  it("a list whose package is not installed owns nothing; an opaque info directory drops every list", async () => {
    const leftover = await stack(base, [
      dpkgList("python3-urllib3", [`${URLLIB3_EGG}/PKG-INFO`]),
      pkgInfo(URLLIB3_EGG, "urllib3", "1.26.12"),
    ]);
    expect(of(leftover.merged, "urllib3")[0]!.metadata).toBeUndefined();
    const opaque = await stack(base, aptUrllib3, [{ name: "var/lib/dpkg/info/.wh..wh..opq" }]);
    expect(of(opaque.merged, "urllib3")[0]!.metadata).toBeUndefined();
  });

  it("covers gems (Ruby's default gems) and node_modules packages, on dpkg, rpm and apk alike", async () => {
    const json = "/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec";
    const npmPkg = "/usr/share/nodejs/npm/node_modules/semver/package.json";
    const { merged } = await stack(base, [
      status([
        { name: "base-files", version: "12.4+deb12u5" },
        { name: "libruby3.1", version: "3.1.2-7" },
        { name: "npm", version: "9.2.0~ds1-1" },
      ]),
      dpkgList("libruby3.1:amd64", [json]),
      dpkgList("npm", [npmPkg]),
      gemspec(json, "json", "2.6.1"),
      file(npmPkg, JSON.stringify({ name: "semver", version: "7.3.8" })),
    ]);
    expect(of(merged, "json")[0]!.metadata).toEqual({ ownedBy: "libruby3.1" });
    expect(of(merged, "semver")[0]!.metadata).toEqual({ ownedBy: "npm" });
    // apk: the database holds the file lists itself
    const alpine = await stack([
      { name: "etc/os-release", body: "ID=alpine\nVERSION_ID=3.19.1\n" },
      file(
        "/lib/apk/db/installed",
        "P:py3-idna\nV:3.6-r0\nA:noarch\no:py3-idna\nF:usr/lib/python3.11/site-packages/idna-3.6.dist-info\nR:METADATA\n",
      ),
      distInfo("/usr/lib/python3.11/site-packages", "idna", "3.6"),
    ]);
    expect(of(alpine.merged, "py3-idna")).toMatchObject([{ ecosystem: "apk" }]);
    expect(of(alpine.merged, "idna")).toMatchObject([
      { ecosystem: "pypi", metadata: { ownedBy: "py3-idna" } },
    ]);
    // rpm: the header's DIRNAMES/BASENAMES/DIRINDEXES
    const egg = "/usr/lib/python3.9/site-packages/idna-2.10-py3.9.egg-info";
    const rhel = await stack([
      { name: "etc/os-release", body: 'ID="rhel"\nVERSION_ID="9.3"\n' },
      {
        name: "var/lib/rpm/rpmdb.sqlite",
        body: buildSqlite([
          buildHeader({
            name: "python3-idna",
            version: "2.10",
            release: "7.el9",
            arch: "noarch",
            files: [`${egg}/PKG-INFO`],
          }),
        ]),
      },
      pkgInfo(egg, "idna", "2.10"),
    ]);
    expect(of(rhel.merged, "idna")).toMatchObject([
      { ecosystem: "pypi", metadata: { ownedBy: "python3-idna" } },
    ]);
  });
});

describe("mergeLayers: lock files count only where nothing is installed for their project", () => {
  const lock = (dir: string, deps: Record<string, string>): TarEntrySpec =>
    file(
      `${dir}/package-lock.json`,
      JSON.stringify({
        lockfileVersion: 3,
        packages: {
          "": { name: "app" },
          ...Object.fromEntries(Object.entries(deps).map(([n, v]) => [`node_modules/${n}`, { version: v }])),
        },
      }),
    );

  it("npm: a lock file beside the node_modules it installed is not counted; its packages are, once", async () => {
    const { merged } = await stack([
      lock("/app", { lodash: "4.17.15", handlebars: "4.0.11" }),
      npm("lodash", "4.17.15"),
    ]);
    expect(of(merged, "lodash").map((p) => p.path)).toEqual(["/app/node_modules/lodash/package.json"]);
    // the lock file's view (handlebars, which --omit=dev left out) is not counted either
    expect(of(merged, "handlebars")).toEqual([]);
    expect(merged.skippedLockFiles).toEqual([
      {
        path: "/app/package-lock.json",
        layer: expect.stringMatching(/^sha256:/),
        reason: "the packages installed in /app/node_modules are counted instead",
        packages: 2,
      },
    ]);
  });

  it("npm: a lock file with nothing installed counts, also when a later layer deletes node_modules", async () => {
    const alone = await stack([
      lock("/srv/app", { lodash: "4.17.15" }),
      npm("x", "1.0.0", "/other/node_modules"),
    ]);
    expect(of(alone.merged, "lodash").map((p) => p.path)).toEqual(["/srv/app/package-lock.json"]);
    expect(alone.merged.skippedLockFiles).toEqual([]);
    const deleted = await stack(
      [lock("/app", { lodash: "4.17.15" }), npm("lodash", "4.17.15")],
      [{ name: "app/.wh.node_modules" }],
    );
    expect(of(deleted.merged, "lodash").map((p) => p.path)).toEqual(["/app/package-lock.json"]);
  });

  it("a lock file inside an installed package, or shipped by an OS package, is not an application", async () => {
    const { merged } = await stack(base, [
      lock("/usr/local/bundle/gems/webpacker-5.4.4", { lodash: "4.17.15" }),
      file(
        "/usr/lib/python3/dist-packages/notebook/static/yarn.lock",
        'lodash@^4.17.15:\n  version "4.17.15"\n',
      ),
      status([
        { name: "base-files", version: "12.4+deb12u5" },
        { name: "node-foo", version: "1.0-1" },
      ]),
      dpkgList("node-foo", ["/usr/share/doc/node-foo/examples/package-lock.json"]),
      lock("/usr/share/doc/node-foo/examples", { lodash: "4.17.15" }),
    ]);
    expect(of(merged, "lodash")).toEqual([]);
    expect(merged.skippedLockFiles.map((s) => [s.path, s.reason])).toEqual([
      [
        "/usr/lib/python3/dist-packages/notebook/static/yarn.lock",
        "inside an installed package (dist-packages), not an application",
      ],
      [
        "/usr/local/bundle/gems/webpacker-5.4.4/package-lock.json",
        "inside an installed package (gems), not an application",
      ],
      [
        "/usr/share/doc/node-foo/examples/package-lock.json",
        "shipped by the OS package node-foo, not an application",
      ],
    ]);
  });

  it("Python: pins installed (PEP 440: 2.2.0 is 2.2) by pip drop the pin lists; an OS-owned copy is no evidence", async () => {
    const site = "/usr/local/lib/python3.11/dist-packages";
    const installed = await stack([
      file("/app/requirements.txt", "Django==2.2.0\nrequests==2.19.1\n"),
      file(
        "/app/poetry.lock",
        '[[package]]\nname = "django"\nversion = "2.2.0"\n\n[[package]]\nname = "requests"\nversion = "2.19.1"\n',
      ),
      distInfo(site, "Django", "2.2"),
    ]);
    expect(installed.merged.packages.map((p) => `${p.name}@${p.version} ${p.path}`)).toEqual([
      `Django@2.2 ${site}/Django-2.2.dist-info/METADATA`,
    ]);
    expect(installed.merged.skippedLockFiles.map((s) => [s.path, s.reason])).toEqual([
      [
        "/app/poetry.lock",
        "its packages are installed (django 2.2.0 among them): the installed ones are counted instead",
      ],
      [
        "/app/requirements.txt",
        "its packages are installed (Django 2.2.0 among them): the installed ones are counted instead",
      ],
    ]);
    // Debian's requests at the pinned version is the OS's, not what installed the pins
    const osOnly = await stack(base, [
      status([
        { name: "base-files", version: "12.4+deb12u5" },
        { name: "python3-requests", version: "2.19.1+dfsg-1" },
      ]),
      dpkgList("python3-requests", ["/usr/lib/python3/dist-packages/requests-2.19.1.egg-info/PKG-INFO"]),
      pkgInfo("/usr/lib/python3/dist-packages/requests-2.19.1.egg-info", "requests", "2.19.1"),
      file("/app/requirements.txt", "requests==2.19.1\n"),
    ]);
    expect(of(osOnly.merged, "requests").map((p) => p.path)).toEqual([
      "/app/requirements.txt",
      "/usr/lib/python3/dist-packages/requests-2.19.1.egg-info/PKG-INFO",
    ]);
  });

  it("Ruby and Composer: bundler's gems and vendor/composer/installed.json replace their lock files", async () => {
    const gemLock = file(
      "/app/Gemfile.lock",
      "GEM\n  remote: https://rubygems.org/\n  specs:\n    json (2.6.1)\n    rack (3.0.8)\n\nDEPENDENCIES\n  rack\n",
    );
    const defaultOnly = await stack([
      gemLock,
      gemspec("/usr/local/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", "json", "2.6.1"),
    ]);
    expect(defaultOnly.merged.skippedLockFiles).toEqual([]); // Ruby's own default gems are no evidence
    const bundled = await stack([
      gemLock,
      gemspec("/usr/local/bundle/specifications/rack-3.0.8.gemspec", "rack", "3.0.8"),
    ]);
    expect(bundled.merged.packages.map((p) => p.path)).toEqual([
      "/usr/local/bundle/specifications/rack-3.0.8.gemspec",
    ]);
    const composer = await stack([
      file(
        "/var/www/composer.lock",
        JSON.stringify({ packages: [{ name: "monolog/monolog", version: "2.9.1" }] }),
      ),
      file(
        "/var/www/vendor/composer/installed.json",
        JSON.stringify({ packages: [{ name: "monolog/monolog", version: "2.9.1" }] }),
      ),
    ]);
    expect(composer.merged.packages.map((p) => p.path)).toEqual(["/var/www/vendor/composer/installed.json"]);
    expect(composer.merged.skippedLockFiles[0]!.reason).toBe(
      "the packages of /var/www/vendor/composer/installed.json are counted instead",
    );
  });
});
