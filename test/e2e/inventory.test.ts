import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogers, distroDetectors } from "../../src/catalog/registry.js";
import { catalogPath } from "../../src/catalog/testing.js";
import type { Package } from "../../src/catalog/types.js";
import { layerLimits } from "../../src/cli/sbom.js";
import { configSchema } from "../../src/config/schema.js";
import { analyzeImage, inventoriesOf, type AnalyzeProgress } from "../../src/image/analyze.js";
import { InventoryCache } from "../../src/image/cache.js";
import { openImageSource } from "../../src/image/sources/index.js";
import type { ImageInventory, InventoryDocument, LayerRef } from "../../src/image/types.js";
import {
  fixturesDir,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * The proof of the image analysis on the real images of ../shared/tools/images/build-images.sh:
 * each inventory is compared with the truth read from the image's root as unpacked by umoci
 * (an independent implementation of layers and whiteouts) and with dpkg-query, unzip and
 * `go version -m`; every source kind (OCI layout, docker-archive, oci-archive, dir:, docker://)
 * and every compression must give the same inventory; a cached run must read no layer.
 */

const skip = missingShared();
if (skip) console.warn(`image inventory e2e skipped: ${skip}`);

const LIMITS = layerLimits(configSchema.parse({}));

function has(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function analyze(
  ref: string,
  opts: { cache?: InventoryCache; progress?: AnalyzeProgress; insecure?: boolean; platform?: string } = {},
): Promise<InventoryDocument> {
  const source = openImageSource(ref, { insecure: opts.insecure, platform: opts.platform });
  try {
    return await analyzeImage(source, {
      catalogers,
      detectors: distroDetectors,
      limits: LIMITS,
      cache: opts.cache,
      progress: opts.progress,
    });
  } finally {
    await source.close();
  }
}

async function single(ref: string, opts: Parameters<typeof analyze>[1] = {}): Promise<ImageInventory> {
  const all = inventoriesOf(await analyze(ref, opts));
  expect(all).toHaveLength(1);
  return all[0]!;
}

/** What must not depend on where the image was read from. */
const content = (i: ImageInventory) => ({
  distro: i.distro,
  packages: i.packages,
  problems: i.problems,
  diffIDs: i.image.layers.map((l) => l.diffID),
  incompleteLayers: i.incompleteLayers,
});

const debs = (i: ImageInventory) =>
  i.packages
    .filter((p) => p.ecosystem === "deb")
    .map((p) => `${p.name} ${p.version} ${p.arch}`)
    .sort();

/** dpkg's own view of an unpacked root: packages whose files are on disk. */
function dpkgQuery(root: string): string[] {
  const out = execFileSync(
    "dpkg-query",
    [
      "--admindir",
      join(root, "var/lib/dpkg"),
      "-W",
      "-f",
      "${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n",
    ],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  const onDisk = new Set([
    "installed",
    "triggers-awaited",
    "triggers-pending",
    "half-configured",
    "unpacked",
  ]);
  return out
    .trim()
    .split("\n")
    .map((l) => l.split("\t"))
    .filter((f) => onDisk.has(f[3]!))
    .map((f) => `${f[0]} ${f[1]} ${f[2]}`)
    .sort();
}

/** Every installed npm package: node_modules/<name>/package.json and node_modules/@scope/<name>/package.json. */
function npmTree(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (nm: string) => {
    if (!existsSync(join(root, nm))) return;
    for (const name of readdirSync(join(root, nm))) {
      if (name.startsWith(".")) continue;
      const dirs = name.startsWith("@")
        ? readdirSync(join(root, nm, name)).map((n) => `${name}/${n}`)
        : [name];
      for (const d of dirs) {
        const pj = `${nm}/${d}/package.json`;
        if (!existsSync(join(root, pj))) continue;
        const doc = JSON.parse(readFileSync(join(root, pj), "utf8")) as { name: string; version: string };
        out.push(`${doc.name} ${doc.version} /${pj}`);
        walk(`${nm}/${d}/node_modules`);
      }
    }
  };
  walk(dir.replace(/^\//, ""));
  return out.sort();
}

const pep503 = (n: string) => n.toLowerCase().replace(/[-_.]+/g, "-");

/** Installed Python distributions: *.dist-info/METADATA and *.egg-info/PKG-INFO in any site- or dist-packages under /usr. */
function pythonInstalled(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string, depth: number) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = `${rel}/${name}`;
      if (!lstatSync(join(root, r)).isDirectory()) continue; // links are not followed
      if (!name.endsWith("-packages")) {
        if (depth < 6) visit(r, depth + 1);
        continue;
      }
      for (const d of readdirSync(join(root, r))) {
        const meta = d.endsWith(".dist-info") ? "METADATA" : d.endsWith(".egg-info") ? "PKG-INFO" : null;
        if (!meta || !existsSync(join(root, r, d, meta))) continue;
        const text = readFileSync(join(root, r, d, meta), "utf8");
        const field = (k: string) => new RegExp(`^${k}: *(.+)$`, "m").exec(text)?.[1]?.trim() ?? "?";
        out.push(`${pep503(field("Name"))} ${field("Version")} /${r}/${d}/${meta}`);
      }
    }
  };
  visit("usr", 0);
  return out.sort();
}

/** The dpkg package owning each path, per `dpkg-query -S` on an unpacked root (absent: none). */
function dpkgOwners(root: string, paths: string[]): Map<string, string> {
  const r = spawnSync("dpkg-query", ["--admindir", join(root, "var/lib/dpkg"), "-S", ...paths], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const owners = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^([^:\s,]+)(?::[\w-]+)?: (\/.*)$/.exec(line);
    if (m) owners.set(m[2]!, m[1]!);
  }
  return owners;
}

/** Maven coordinates in a jar's pom.properties files (unzip, not our zip reader). */
function pomProperties(jar: string): string[] {
  const files = execFileSync("unzip", ["-Z1", jar], { encoding: "utf8", maxBuffer: 64 << 20 })
    .split("\n")
    .filter((f) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(f));
  return files.map((f) => {
    const text = execFileSync("unzip", ["-p", jar, f], { encoding: "utf8" });
    const prop = (k: string) => new RegExp(`^${k}=(.+)$`, "m").exec(text)?.[1]?.trim();
    return `${prop("groupId")}:${prop("artifactId")} ${prop("version")}`;
  });
}

const key = (p: Package) => `${p.name} ${p.version} ${p.path}${p.archivePath ? `!${p.archivePath}` : ""}`;

describe.skipIf(skip !== null)("image inventory: real images against independent truth", () => {
  let work: string;
  const roots = new Map<string, string>();
  const inventories = new Map<string, ImageInventory>();

  /** The image's root as umoci applies its layers (whiteouts included), unpacked once. */
  function unpacked(name: string): string {
    let root = roots.get(name);
    if (!root) {
      root = join(work, `root-${name}`);
      execFileSync("umoci", ["raw", "unpack", "--rootless", "--image", `${ociLayout(name)}:latest`, root], {
        stdio: "ignore",
      });
      roots.set(name, root);
    }
    return root;
  }

  async function oci(name: string): Promise<ImageInventory> {
    let inv = inventories.get(name);
    if (!inv) {
      inv = await single(`oci:${ociLayout(name)}`);
      inventories.set(name, inv);
    }
    return inv;
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-inventory-e2e-"));
    for (const tool of ["umoci", "dpkg-query", "unzip", "skopeo"]) {
      if (!has(tool)) throw new Error(`${tool} is needed for the image inventory e2e tests`);
    }
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe("dpkg: the package list equals dpkg-query on the unpacked root", () => {
    for (const name of [
      "debian-bookworm-minimal",
      "debian-bookworm-multi",
      "node-app",
      "python-app",
      "java-app",
    ]) {
      it(name, async () => {
        const inv = await oci(name);
        expect(inv.distro).toMatchObject({ id: "debian", versionId: "12", codename: "bookworm" });
        const truth = dpkgQuery(unpacked(name));
        expect(truth.length).toBeGreaterThan(80);
        expect(debs(inv)).toEqual(truth);
        expect(inv.problems.filter((p) => p.source === "image")).toEqual([]);
        expect(inv.incompleteLayers).toBeUndefined();
        for (const p of inv.packages) {
          expect(inv.image.layers.map((l) => l.diffID)).toContain(p.layer);
          expect(p.path).toMatch(/^\//);
        }
      });
    }
  });

  describe("debian-bookworm-multi: the purge in layer 3 and its whiteouts", () => {
    it("curl is absent, although layer 2's own dpkg status lists it", async () => {
      const inv = await oci("debian-bookworm-multi");
      const layer2 = inv.image.layers[1]!;
      const blob = join(ociLayout("debian-bookworm-multi"), "blobs", ...layer2.digest.split(":"));
      const status2 = execFileSync("tar", ["-xzOf", blob, "var/lib/dpkg/status"], {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      expect(status2).toMatch(/^Package: curl$/m);
      expect(inv.packages.filter((p) => p.name === "curl")).toEqual([]);
      expect(existsSync(join(unpacked("debian-bookworm-multi"), "usr/bin/curl"))).toBe(false);
      expect(existsSync(join(unpacked("debian-bookworm-multi"), "etc/fixture-deleted-in-layer3"))).toBe(
        false,
      );
    });

    it("attributes base packages to layer 1 and apt's to layer 2, although layer 3 rewrote the status file", async () => {
      const inv = await oci("debian-bookworm-multi");
      const [l1, l2, l3] = inv.image.layers.map((l) => l.diffID);
      const layerOf = (n: string) => inv.packages.find((p) => p.name === n && p.ecosystem === "deb")?.layer;
      expect(layerOf("base-files")).toBe(l1);
      expect(layerOf("libc6")).toBe(l1);
      for (const n of ["openssl", "ca-certificates", "python3", "nodejs", "libcurl4"])
        expect(layerOf(n)).toBe(l2);
      expect(inv.packages.some((p) => p.layer === l3)).toBe(false);
      // The minimal image is the base layer alone: same packages as layer 1 brought.
      const minimal = await oci("debian-bookworm-minimal");
      expect(minimal.image.layers[0]!.diffID).toBe(l1);
      expect(debs(minimal)).toEqual(
        inv.packages
          .filter((p) => p.layer === l1 && p.ecosystem === "deb")
          .map((p) => `${p.name} ${p.version} ${p.arch}`)
          .sort(),
      );
    });
  });

  describe("language ecosystems", () => {
    it("node-app: the installed npm packages equal its node_modules tree", async () => {
      const inv = await oci("node-app");
      const truth = npmTree(unpacked("node-app"), "/app/node_modules");
      expect(truth).toHaveLength(93);
      const installed = inv.packages
        .filter((p) => p.ecosystem === "npm" && p.path.startsWith("/app/node_modules/"))
        .map((p) => `${p.name} ${p.version} ${p.path}`)
        .sort();
      expect(installed).toEqual(truth);
      // The lock file beside the node_modules it installed is not counted (installed packages
      // are the truth, each once), but named with why...
      expect(inv.packages.some((p) => p.path === "/app/package-lock.json")).toBe(false);
      expect(inv.skippedLockFiles).toEqual([
        {
          path: "/app/package-lock.json",
          layer: inv.image.layers[2]!.diffID,
          reason: "the packages installed in /app/node_modules are counted instead",
          packages: 93,
        },
      ]);
      // ...and it describes the same tree (its cataloger on the unpacked file).
      const lockFile = await catalogPath(join(unpacked("node-app"), "app/package-lock.json"), catalogers, {
        asPath: "app/package-lock.json",
      });
      const locked = new Set(lockFile.packages.map((p) => `${p.name} ${p.version}`));
      expect(locked).toEqual(new Set(truth.map((t) => t.split(" ").slice(0, 2).join(" "))));
      const byName = (n: string) =>
        inv.packages
          .filter((p) => p.name === n && p.path.includes("node_modules"))
          .map((p) => p.version)
          .sort();
      expect(byName("lodash")).toEqual(["4.17.15"]);
      expect(byName("minimist")).toEqual(["0.0.10", "1.2.0"]);
      expect(lockFile.packages.find((p) => p.name === "handlebars")?.dev).toBe(true);
      // Debian's python3 modules (the apt layer) are Python packages dpkg installed: marked so
      // (dpkg-query -S on the unpacked root agrees), every one of them.
      const debianPython = inv.packages.filter((p) => p.ecosystem === "pypi");
      expect(debianPython.map((p) => p.name).sort()).toEqual([
        "certifi",
        "chardet",
        "charset-normalizer",
        "idna",
        "requests",
        "six",
        "urllib3",
      ]);
      const owners = dpkgOwners(
        unpacked("node-app"),
        debianPython.map((p) => p.path),
      );
      for (const p of debianPython) expect(p.metadata?.ownedBy, p.path).toBe(owners.get(p.path));
    });

    it("python-app: every installed distribution, requirement pin and poetry.lock package is found", async () => {
      const inv = await oci("python-app");
      const root = unpacked("python-app");
      const ours = new Set(
        inv.packages
          .filter((p) => p.ecosystem === "pypi")
          .map((p) => `${pep503(p.name)} ${p.version} ${p.path}`),
      );
      const installed = pythonInstalled(root);
      expect(installed.length).toBeGreaterThan(20);
      expect(installed.filter((t) => t.includes("/usr/local/lib/python3.11/dist-packages/"))).toHaveLength(5);
      expect(installed.filter((t) => !ours.has(t))).toEqual([]);
      // Installed by dpkg (per dpkg-query -S on the unpacked root): marked with their owner;
      // pip's five in /usr/local: nobody's.
      const paths = installed.map((t) => t.slice(t.indexOf(" /") + 1));
      const owners = dpkgOwners(root, paths);
      expect(owners.size).toBe(paths.length - 5);
      for (const path of paths) {
        const p = inv.packages.find((x) => x.path === path)!;
        expect(p.metadata?.ownedBy, path).toBe(owners.get(path));
      }
      // The pin lists are not counted: pip installed their packages (Django 2.2 is the pinned
      // 2.2.0), and the installed distributions are the truth.
      expect(inv.skippedLockFiles?.map((l) => [l.path, l.packages, l.reason])).toEqual([
        [
          "/app/poetry.lock",
          19,
          "its packages are installed (django 2.2.0 among them): the installed ones are counted instead",
        ],
        [
          "/app/requirements.txt",
          11,
          "its packages are installed (Django 2.2.0 among them): the installed ones are counted instead",
        ],
      ]);
      expect(inv.packages.some((p) => p.path.startsWith("/app/"))).toBe(false);
      // Their catalogers still read every pin (on the unpacked files).
      for (const f of ["requirements.txt", "poetry.lock"]) {
        const r = await catalogPath(join(root, "app", f), catalogers, { asPath: `app/${f}` });
        expect(r.problems).toEqual([]);
        for (const p of r.packages) ours.add(`${pep503(p.name)} ${p.version} ${p.path}`);
      }
      const pins = readFileSync(join(root, "app/requirements.txt"), "utf8")
        .split("\n")
        .map((l) => /^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => `${pep503(m[1]!)} ${m[2]} /app/requirements.txt`);
      expect(pins).toHaveLength(11);
      const lock = [
        ...readFileSync(join(root, "app/poetry.lock"), "utf8").matchAll(
          /\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"/g,
        ),
      ].map((m) => `${pep503(m[1]!)} ${m[2]} /app/poetry.lock`);
      expect(lock.length).toBeGreaterThan(10);
      const missing = [...installed, ...pins, ...lock].filter((t) => !ours.has(t));
      expect(missing).toEqual([]);
    });

    it("java-app: every jar (pom.properties or file name), nested jar and Go module is found", async () => {
      const inv = await oci("java-app");
      const root = unpacked("java-app");
      const ours = new Set(inv.packages.map(key));
      const expected: string[] = [];
      const lib = join(root, "app/lib");
      for (const jar of readdirSync(lib).sort()) {
        const poms = pomProperties(join(lib, jar));
        if (poms.length) for (const c of poms) expected.push(`${c} /app/lib/${jar}`);
        else {
          // log4j 1.2.17 has no pom.properties: the file name says what it is.
          const m = /^(.+)-(\d[\w.]*)\.jar$/.exec(jar)!;
          expect(inv.packages.find((p) => p.path === `/app/lib/${jar}`)).toMatchObject({
            ecosystem: "maven",
            version: m[2],
          });
        }
      }
      for (const c of pomProperties(join(root, "app/app.jar"))) expected.push(`${c} /app/app.jar`);
      const nested = join(work, "nested");
      execFileSync("unzip", ["-q", "-o", join(root, "app/app.jar"), "BOOT-INF/lib/*", "-d", nested]);
      for (const jar of readdirSync(join(nested, "BOOT-INF/lib")).sort()) {
        const poms = pomProperties(join(nested, "BOOT-INF/lib", jar));
        for (const c of poms) expected.push(`${c} /app/app.jar!BOOT-INF/lib/${jar}`);
        if (!poms.length)
          expect(inv.packages.find((p) => p.archivePath === `BOOT-INF/lib/${jar}`)).toMatchObject({
            version: "1.2.17",
          });
      }
      expect(expected.length).toBeGreaterThanOrEqual(10);
      expect(expected.filter((e) => !ours.has(e))).toEqual([]);

      // Go: `go version -m` is the truth; without go, the fixture README's list.
      const goTruth: string[] = [];
      if (has("go")) {
        for (const bin of ["gomod-demo", "skopeo"]) {
          const path = `/usr/local/bin/${bin}`;
          const info = execFileSync("go", ["version", "-m", join(root, path.slice(1))], { encoding: "utf8" });
          goTruth.push(`stdlib v${/: go(\S+)/.exec(info)![1]} ${path}`);
          for (const m of info.matchAll(/^\tdep\t(\S+)\t(\S+)/gm)) goTruth.push(`${m[1]} ${m[2]} ${path}`);
        }
      } else {
        console.warn("go not installed: Go modules checked against the fixture README only");
        goTruth.push(
          "golang.org/x/net v0.7.0 /usr/local/bin/gomod-demo",
          "golang.org/x/text v0.7.0 /usr/local/bin/gomod-demo",
        );
      }
      expect(goTruth.length).toBeGreaterThanOrEqual(2);
      expect(goTruth.filter((g) => !ours.has(g))).toEqual([]);
      expect(
        inv.packages.some(
          (p) => p.ecosystem === "golang" && p.name === "example.com/registry-fixture/gomod-demo",
        ),
      ).toBe(true);
    });
  });

  describe("every source and compression gives the same inventory", () => {
    it("zstd, uncompressed and gzip variants of the minimal image", async () => {
      const gz = await oci("debian-bookworm-minimal");
      for (const v of ["debian-bookworm-minimal-zstd", "debian-bookworm-minimal-uncompressed"]) {
        const inv = await single(`oci:${ociLayout(v)}`);
        expect(inv.image.layers[0]!.mediaType).not.toBe(gz.image.layers[0]!.mediaType);
        expect(content(inv)).toEqual(content(gz));
      }
    });

    it("both platforms of the multi-arch index", async () => {
      const doc = await analyze(`oci:${ociLayout("debian-bookworm-multiarch")}`);
      expect("index" in doc && doc.index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      const all = inventoriesOf(doc);
      expect(
        all.map((i) => [i.image.platform.os, i.image.platform.architecture, i.image.platform.variant]),
      ).toEqual([
        ["linux", "amd64", undefined],
        ["linux", "arm64", "v8"],
      ]);
      const minimal = await oci("debian-bookworm-minimal");
      for (const inv of all) expect(content(inv)).toEqual(content(minimal));
      const arm = await single(`oci:${ociLayout("debian-bookworm-multiarch")}`, { platform: "linux/arm64" });
      expect(arm.image.platform.architecture).toBe("arm64");
    });

    for (const name of [
      "debian-bookworm-minimal",
      "debian-bookworm-multi",
      "node-app",
      "python-app",
      "java-app",
    ]) {
      it(`docker-archive of ${name}`, async () => {
        const file = join(fixturesDir, "docker-archive", `${name}.tar`);
        const inv = await single(`docker-archive:${file}`);
        expect(content(inv)).toEqual(content(await oci(name)));
      });
    }

    for (const name of ["debian-bookworm-multi", "node-app"]) {
      it(`oci-archive of ${name} (skopeo copy oci: oci-archive:)`, async () => {
        const file = join(work, `${name}.oci.tar`);
        const r = await skopeo([
          "copy",
          "--quiet",
          `oci:${ociLayout(name)}:latest`,
          `oci-archive:${file}:latest`,
        ]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const inv = await single(`oci-archive:${file}`);
        expect(content(inv)).toEqual(content(await oci(name)));
      });
    }

    it("dir: of the unpacked root gives the same dpkg list (and the same language packages)", async () => {
      const name = "debian-bookworm-multi";
      const inv = await single(`dir:${unpacked(name)}`);
      const ref = await oci(name);
      expect(debs(inv)).toEqual(debs(ref));
      expect(inv.distro).toEqual(ref.distro);
      const rest = (i: ImageInventory) =>
        i.packages.filter((p) => p.ecosystem !== "deb").map((p) => `${p.name} ${p.version} ${p.path}`);
      expect(rest(inv)).toEqual(rest(ref));
      expect(inv.problems).toEqual([]);
    });
  });

  describe("the layer cache", () => {
    it("a second run reads no layer: layerDone(fromCache=true) for every layer, no bytes, same inventory", async () => {
      const cache = new InventoryCache(join(work, "data", "cache", "layers"));
      const record = () => {
        const r = { done: [] as [LayerRef, boolean][], bytes: 0, started: 0 };
        const progress: AnalyzeProgress = {
          layerStarted: () => void r.started++,
          bytesRead: (n) => void (r.bytes += n),
          layerDone: (l, fromCache) => void r.done.push([l, fromCache]),
        };
        return { r, progress };
      };
      const cold = record();
      const first = await single(`oci:${ociLayout("node-app")}`, { cache, progress: cold.progress });
      expect(cold.r.done.map(([, c]) => c)).toEqual([false, false, false]);
      expect(cold.r.bytes).toBeGreaterThan(200e6);

      const warm = record();
      const second = await single(`oci:${ociLayout("node-app")}`, { cache, progress: warm.progress });
      expect(warm.r.done.map(([, c]) => c)).toEqual([true, true, true]);
      expect(warm.r.bytes).toBe(0);
      expect(second).toEqual(first);

      // node-app shares its base and apt layers (same diffIDs) with debian-bookworm-multi:
      // only multi's third layer is read.
      const shared = record();
      await single(`oci:${ociLayout("debian-bookworm-multi")}`, { cache, progress: shared.progress });
      expect(shared.r.done.map(([, c]) => c)).toEqual([true, true, false]);
    });

    it("the CLI's second run reads no layer either (same document, --data cache)", async () => {
      const data = join(work, "cli-data");
      const cli = join(repoRoot, "dist/cli/main.js");
      const args = [cli, "sbom", `oci:${ociLayout("python-app")}`, "--data", data];
      const a = await run(process.execPath, args);
      expect(a.code).toBe(0);
      const cached = readdirSync(join(data, "cache", "layers")).length;
      expect(cached).toBeGreaterThan(0);
      const b = await run(process.execPath, args);
      expect(b.code).toBe(0);
      expect(b.stdout).toBe(a.stdout);
      expect(JSON.parse(a.stdout)).toEqual(await oci("python-app"));
    });
  });

  describe("docker:// against a running Drydock", () => {
    let dd: Drydock;
    beforeAll(async () => {
      dd = await startDrydock();
    });
    afterAll(async () => {
      await dd?.destroy();
    });

    it("an image pushed with skopeo gives the same inventory as its OCI layout", async () => {
      const ref = `docker://${dd.addr}/fixtures/node-app:latest`;
      const push = await skopeo([
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        `oci:${ociLayout("node-app")}:latest`,
        ref,
      ]);
      expect(push.code).toBe(0);
      const inv = await single(ref, { insecure: true });
      expect(content(inv)).toEqual(content(await oci("node-app")));
      expect(inv.image.manifestDigest).toBe((await oci("node-app")).image.manifestDigest);
    });

    it("a multi-arch index pushed with --all gives both platforms", async () => {
      const ref = `docker://${dd.addr}/fixtures/multiarch:latest`;
      const push = await skopeo([
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        `oci:${ociLayout("debian-bookworm-multiarch")}:latest`,
        ref,
      ]);
      expect(push.code).toBe(0);
      const all = inventoriesOf(await analyze(ref, { insecure: true }));
      expect(all.map((i) => i.image.platform.architecture)).toEqual(["amd64", "arm64"]);
      const minimal = await oci("debian-bookworm-minimal");
      for (const inv of all) expect(content(inv)).toEqual(content(minimal));
    });

    it("an unknown repository is a clear error", async () => {
      await expect(analyze(`docker://${dd.addr}/fixtures/nope:latest`, { insecure: true })).rejects.toThrow(
        /not found/,
      );
    });
  });
});
