import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBdb, buildHeader, randomBytes } from "../../src/catalog/os/rpm/rpmdb-testing.js";
import {
  buildImage,
  compress,
  DEBIAN_OS_RELEASE,
  dpkgStatus,
  ociImage,
  sha256,
  tarball,
  tarEntry,
  writeOciLayout,
  type LayerSpec,
} from "../../src/image/testdata/images.js";
import { repoRoot, run } from "./harness.js";

/**
 * Hostile layers through the CLI: `drydock sbom` must exit 0 with warnings for what it could not
 * read inside a layer, 3 (with the document still printed) when a layer could not be read to its
 * end, 2 for an image that cannot be resolved at all; never crash, never write outside --data.
 */

const cli = join(repoRoot, "dist/cli/main.js");
const built = existsSync(cli);
if (!built) console.warn("hostile layer CLI tests skipped: dist/cli/main.js missing (npm run build)");

let work: string;
let n = 0;

const base: LayerSpec = {
  tar: tarball([
    { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
    { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "libc6", version: "2.36-9" }]) },
  ]),
};

/** Every file under dir, relative, except the data directory. */
function listing(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (p === skip) continue;
      out.push(relative(dir, p));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  doc: {
    packages: { name: string }[];
    problems: { path: string; reason: string }[];
    incompleteLayers?: string[];
    distro: unknown;
  } | null;
  dataFiles: string[];
}

/** Runs `drydock sbom` on an image made of `layers`, in a fresh working directory. */
async function sbom(layers: LayerSpec[], config?: Record<string, unknown>): Promise<Outcome> {
  const cwd = join(work, `case-${n++}`);
  const data = join(cwd, "data");
  await mkdir(cwd, { recursive: true });
  const { ref } = await ociImage(join(cwd, "image"), layers);
  const args = [cli, "sbom", ref, "--data", data];
  if (config) {
    await writeFile(join(cwd, "config.json"), JSON.stringify(config));
    args.push("--config", join(cwd, "config.json"));
  }
  const before = listing(cwd, data);
  const r = await run(process.execPath, args, { cwd, timeoutMs: 120_000 });
  expect(listing(cwd, data)).toEqual(before); // nothing written beside the data directory
  const dataFiles = existsSync(data) ? listing(data, "") : [];
  for (const f of dataFiles) expect(f).toMatch(/^cache(\/layers(\/[0-9a-f]{2}(\/[0-9a-f]{64}\.json)?)?)?$/);
  let doc = null;
  try {
    doc = JSON.parse(r.stdout) as Outcome["doc"];
  } catch {
    /* no document */
  }
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  return { ...r, doc, dataFiles };
}

describe.skipIf(!built)("drydock sbom on hostile layers", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-hostile-e2e-"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("../ and absolute paths: ignored with a warning or kept inside the root; nothing written outside", async () => {
    const marker = `drydock-hostile-${process.pid}-${Date.now()}`;
    const r = await sbom([
      base,
      {
        tar: tarball([
          { name: `../../../../../../../tmp/${marker}`, body: "x" },
          { name: `../${marker}`, body: "x" },
          { name: `/tmp/${marker}-abs`, body: "x" },
          {
            name: "/usr/local/lib/node_modules/evil/package.json",
            body: JSON.stringify({ name: "evil", version: "1.0.0" }),
          },
        ]),
      },
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`warning: \\.\\./\\.\\./.*/tmp/${marker}: entry path climbs above the image root`),
    );
    expect(r.doc!.packages.map((p) => p.name)).toEqual(["libc6", "evil"]); // deb before npm
    for (const p of [`/tmp/${marker}`, `/tmp/${marker}-abs`, join(work, marker), join(work, "..", marker)])
      expect(existsSync(p)).toBe(false);
  });

  it("a symlink pointing outside the root and a symlink loop: warnings, the host never read", async () => {
    const r = await sbom([
      {
        tar: tarball([
          { name: "etc/os-release", type: "2", linkname: "../../../../../../../../etc/os-release" },
          { name: "usr/lib/os-release", type: "2", linkname: "/proc/self/root/usr/lib/os-release" },
          { name: "var/lib/dpkg/status", type: "2", linkname: "../../../../../../etc/passwd" },
          { name: "loop/a", type: "2", linkname: "b" },
          { name: "loop/b", type: "2", linkname: "a" },
          { name: "app/node_modules/x/package.json", type: "2", linkname: "/loop/a" },
        ]),
      },
    ]);
    expect(r.code).toBe(0);
    expect(r.doc!.distro).toBeNull();
    expect(r.doc!.packages).toEqual([]);
    expect(r.stderr).toContain("warning: /etc/os-release: symlink loop");
    expect(r.stderr).toContain(
      "warning: /usr/lib/os-release: symlink to /proc/self/root/usr/lib/os-release (inside the image root), which is not a file the catalogers read",
    );
    expect(r.stderr).toContain(
      "warning: /var/lib/dpkg/status: symlink to /etc/passwd (inside the image root)",
    );
    expect(r.stderr).toContain("warning: /app/node_modules/x/package.json: symlink loop");
  });

  it("a gzip bomb stops at analysis.maxLayerBytes: exit 3, the error on stderr, the rest still inventoried", async () => {
    const bomb = Buffer.concat([
      tarEntry({ name: "zeros", body: "", headerSize: 512 * 1024 * 1024 }).subarray(0, 512),
      Buffer.alloc(512 * 1024 * 1024),
      Buffer.alloc(1024),
    ]);
    const blob = gzipSync(bomb, { level: 1 });
    const r = await sbom([base, { tar: bomb, blob }], { analysis: { maxLayerBytes: 64 * 1024 * 1024 } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("error: /: layer decompresses to more than 67108864 bytes");
    expect(r.stderr).toContain(
      `error: layer ${sha256(bomb)} could not be read completely: the inventory is incomplete`,
    );
    expect(r.doc!.incompleteLayers).toEqual([sha256(bomb)]);
    expect(r.doc!.packages.map((p) => p.name)).toEqual(["libc6"]);
    expect(r.dataFiles.filter((f) => f.endsWith(".json"))).toHaveLength(1); // only the base layer cached
  });

  it("an entry bomb stops at analysis.maxLayerEntries", async () => {
    const entries = Array.from({ length: 5000 }, (_, i) => ({ name: `many/${i}`, body: "" }));
    const r = await sbom([base, { tar: tarball(entries) }], { analysis: { maxLayerEntries: 1000 } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("more than 1000 entries in one layer");
  });

  it("a cataloged file over analysis.maxFileBytes is not read: a warning, exit 0", async () => {
    const status = dpkgStatus([{ name: "big", version: "1" }]) + "Description: " + "x".repeat(2 << 20) + "\n";
    const r = await sbom([{ tar: tarball([{ name: "var/lib/dpkg/status", body: status }]) }], {
      analysis: { maxFileBytes: 1 << 20 },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /warning: \/var\/lib\/dpkg\/status: file of \d+ bytes is over the 1048576-byte limit/,
    );
  });

  it("a truncated gzip layer: exit 3 with the reason", async () => {
    const layer = tarball([
      { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "curl", version: "7.88" }]) },
    ]);
    const gz = compress(layer, "gzip");
    const r = await sbom([base, { tar: layer, blob: gz.subarray(0, gz.length - 20) }]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error: \/: layer unreadable: unexpected end of file/);
  });

  it("corrupt dpkg and rpm databases: warnings from their catalogers, exit 0", async () => {
    const db = buildBdb([buildHeader({ name: "bash", version: "5.1", release: "1", arch: "x86_64" })]);
    const r = await sbom([
      {
        tar: tarball([
          { name: "var/lib/dpkg/status", body: randomBytes(30_000, 9) },
          { name: "var/lib/rpm/Packages", body: db.subarray(0, db.length >> 1) },
          {
            name: "usr/lib/sysimage/rpm/rpmdb.sqlite",
            body: Buffer.concat([Buffer.from("SQLite format 3\0"), randomBytes(5000, 1)]),
          },
        ]),
      },
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/warning: \/var\/lib\/dpkg\/status: .*\(dpkg-status/g)).toHaveLength(3); // 3 lines per file at most
    expect(r.stderr).toMatch(/\.\.\. and \d+ more problems \(all listed in --format json\)/);
    expect(r.stderr).toMatch(/warning: \/var\/lib\/rpm\/Packages: .*\(rpmdb/);
    expect(r.stderr).toMatch(/warning: \/usr\/lib\/sysimage\/rpm\/rpmdb.sqlite: .*\(rpmdb/);
  });

  it("a layer whose content is not its diffID: exit 3, never cached", async () => {
    const honest = tarball([
      { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "openssl", version: "3.0" }]) },
    ]);
    const r = await sbom([{ tar: base.tar, diffID: sha256(honest) }]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/layer content has digest sha256:[0-9a-f]+, not the diffID/);
    expect(r.dataFiles.filter((f) => f.endsWith(".json"))).toEqual([]);
  });

  it("an image that cannot be resolved is exit 2 with one line, no stack", async () => {
    const cwd = join(work, "unresolvable");
    const img = buildImage([base]);
    img.blobs.delete(img.layerDigests[0]!);
    await writeOciLayout(join(cwd, "image"), { latest: img });
    const missing = await run(process.execPath, [cli, "sbom", `oci:${join(cwd, "image")}`, "--no-cache"], {
      cwd,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^drydock: layer sha256:[0-9a-f]+ missing from /);
    const notImage = await run(process.execPath, [cli, "sbom", `oci:${cwd}`, "--no-cache"], { cwd });
    expect(notImage.code).toBe(2);
    expect(notImage.stderr).toMatch(/^drydock: .* is not an OCI layout/);
    const junk = join(cwd, "junk.tar");
    await writeFile(junk, randomBytes(10_000, 4));
    const archive = await run(process.execPath, [cli, "sbom", `docker-archive:${junk}`, "--no-cache"], {
      cwd,
    });
    expect(archive.code).toBe(2);
    expect(archive.stderr).toMatch(/^drydock: .*corrupt tar header/);
  });
});
