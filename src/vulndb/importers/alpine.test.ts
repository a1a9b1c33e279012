import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { alpineEcosystem, alpineSecdbImporter } from "./alpine.js";
import { advisoryById, missingVulndata, readPackTarGz, runImporter } from "./native-feed-testing.js";
import type { FeedDocument } from "./types.js";

const PACK = "distro/alpine/alpine-secdb.tar.gz";

const doc = (name: string, body: string): FeedDocument => ({ name, content: Buffer.from(body) });

const small = JSON.stringify({
  apkurl: "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
  archs: ["x86_64"],
  reponame: "main",
  urlprefix: "https://dl-cdn.alpinelinux.org/alpine",
  distroversion: "v3.19",
  packages: [
    {
      pkg: {
        name: "glib",
        secfixes: { "0": ["CVE-2000-0001"], "2.66.6-r0": ["CVE-2021-27219 GHSL-2021-045", "XSA-1"] },
      },
    },
    { pkg: { name: "xen", secfixes: { "4.12.1-r0": ["CVE-2019-17349 CVE-2019-17350 XSA-295"] } } },
    { pkg: { name: "nofixes", secfixes: null } },
  ],
});

async function parse(d: FeedDocument) {
  return runImporter(alpineSecdbImporter, [d]);
}

describe("alpine secdb importer", () => {
  it("maps ecosystems from distroversion", () => {
    expect(alpineEcosystem("v3.21")).toBe("alpine:3.21");
    expect(alpineEcosystem("edge")).toBe("alpine:edge");
    expect(alpineEcosystem("3.x")).toBeUndefined();
  });

  it("recognizes branch/repo JSON documents only", () => {
    const head = Buffer.from('{\n\t"apkurl": "x"');
    expect(alpineSecdbImporter.recognizes({ name: "pack/alpine-secdb.tar.gz!v3.21/main.json", head })).toBe(
      true,
    );
    expect(alpineSecdbImporter.recognizes({ name: "alpine/edge/community.json", head })).toBe(true);
    expect(alpineSecdbImporter.recognizes({ name: "v3.21/main.json", head: Buffer.from("<xml") })).toBe(
      false,
    );
    expect(alpineSecdbImporter.recognizes({ name: "wolfi/security.json", head })).toBe(false);
    expect(alpineSecdbImporter.recognizes({ name: "v3.21/testing.json", head })).toBe(false);
  });

  it("lists the official secdb URLs with mirror paths", () => {
    const up = alpineSecdbImporter.upstream ?? [];
    expect(up).toContainEqual({
      url: "https://secdb.alpinelinux.org/v3.21/main.json",
      mirrorPath: "alpine/v3.21/main.json",
    });
    expect(up).toContainEqual({
      url: "https://secdb.alpinelinux.org/edge/community.json",
      mirrorPath: "alpine/edge/community.json",
    });
    expect(new Set(up.map((u) => u.mirrorPath)).size).toBe(up.length);
  });

  it("turns secfixes into fixed ranges, key 0 into not_affected, and splits ids on whitespace", async () => {
    const run = await parse(doc("v3.19/main.json", small));
    expect(run.problems).toEqual([]);
    expect(run.advisories.map((a) => a.id)).toEqual([
      "CVE-2000-0001",
      "CVE-2021-27219",
      "XSA-1",
      "CVE-2019-17349",
      "CVE-2019-17350",
    ]);
    expect(advisoryById(run, "CVE-2000-0001")).toEqual({
      id: "CVE-2000-0001",
      source: "alpine-secdb",
      aliases: [],
      affected: [{ ecosystem: "alpine:3.19", package: "glib", status: "not_affected", ranges: [] }],
    });
    expect(advisoryById(run, "CVE-2021-27219")).toEqual({
      id: "CVE-2021-27219",
      source: "alpine-secdb",
      aliases: ["GHSL-2021-045"],
      affected: [
        {
          ecosystem: "alpine:3.19",
          package: "glib",
          status: "affected",
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "2.66.6-r0" }] }],
        },
      ],
    });
    // Two CVEs in one entry are two flaws; the XSA names both.
    expect(advisoryById(run, "CVE-2019-17350").aliases).toEqual(["XSA-295"]);
    expect(advisoryById(run, "XSA-1").aliases).toEqual([]);
  });

  it("reads a gzip-compressed mirror copy the same way", async () => {
    const plain = await parse(doc("v3.19/main.json", small));
    const d = { name: "v3.19/main.json", content: gzipSync(small) };
    expect(alpineSecdbImporter.recognizes({ name: d.name, head: d.content.subarray(0, 64) })).toBe(true);
    expect(await parse(d)).toEqual(plain);
  });

  it("reports broken documents with feed and document, and goes on", async () => {
    const broken = [
      doc("v3.19/main.json", small.slice(0, 200)),
      doc("v3.20/main.json", '{"packages": 3}'),
      doc("v3.21/main.json", JSON.stringify({ distroversion: "v9", packages: [] })),
      doc(
        "edge/main.json",
        JSON.stringify({
          distroversion: "edge",
          packages: [{ pkg: {} }, { pkg: { name: "a", secfixes: [] } }],
        }),
      ),
      doc("v3.18/main.json", small),
    ];
    const run = await runImporter(alpineSecdbImporter, broken);
    expect(run.problems.map((p) => [p.feed, p.document])).toEqual([
      ["alpine-secdb", "v3.19/main.json"],
      ["alpine-secdb", "v3.20/main.json"],
      ["alpine-secdb", "v3.21/main.json"],
      ["alpine-secdb", "edge/main.json"],
      ["alpine-secdb", "edge/main.json"],
    ]);
    expect(run.problems[0]!.reason).toMatch(/invalid JSON/);
    expect(run.problems[3]!.reason).toBe("packages[0]: no pkg.name");
    expect(run.problems[4]!.reason).toBe("a: secfixes is not a map");
    // The good document still imports; its own distroversion (v3.19) wins over its path.
    expect(run.advisories).toHaveLength(5);
    expect(run.advisories.every((a) => a.affected.every((x) => x.ecosystem === "alpine:3.19"))).toBe(true);
  });

  const missing = missingVulndata(PACK);
  it.skipIf(missing !== null)(`imports the real secdb pack ${missing ?? ""}`, async () => {
    const docs = await readPackTarGz(PACK);
    expect(docs).toHaveLength(41);
    const started = Date.now();
    const run = await runImporter(alpineSecdbImporter, docs);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.refused).toEqual([]);
    expect(run.problems).toEqual([]);

    // PROVENANCE.md: v3.18 main has 246 packages, 1,143 secfixes keys of which 22 are "0",
    // and 2,445 distinct id strings (2,669 ids once "CVE-… XSA-…" entries are split).
    const v318 = run.advisories.filter((a) => a.affected.some((x) => x.ecosystem === "alpine:3.18"));
    const inMain = (
      await runImporter(
        alpineSecdbImporter,
        docs.filter((d) => d.name.endsWith("!v3.18/main.json")),
      )
    ).advisories;
    const packages = new Set<string>();
    const keys = new Set<string>();
    const zero = new Set<string>();
    const ids = new Set<string>();
    for (const a of inMain) {
      ids.add(a.id);
      for (const x of a.aliases) ids.add(x);
      for (const x of a.affected) {
        packages.add(x.package);
        if (x.status === "not_affected") {
          zero.add(x.package);
          keys.add(`${x.package} 0`);
        }
        for (const r of x.ranges)
          if (r.type === "ECOSYSTEM")
            for (const e of r.events) if ("fixed" in e) keys.add(`${x.package} ${e.fixed}`);
      }
    }
    expect([packages.size, keys.size, zero.size, ids.size]).toEqual([246, 1143, 22, 2669]);
    expect(v318.length).toBeGreaterThan(inMain.length);

    // Spot checks: an OpenSSL fix, and ids Alpine says were never applicable.
    const openssl = run.advisories.filter((a) => a.id === "CVE-2024-5535");
    expect(openssl.length).toBeGreaterThan(1); // one per branch document
    const in321 = run.advisories
      .filter((a) => a.id === "CVE-2024-5535")
      .flatMap((a) => a.affected)
      .find((x) => x.ecosystem === "alpine:3.21" && x.package === "openssl");
    expect(in321).toEqual({
      ecosystem: "alpine:3.21",
      package: "openssl",
      status: "affected",
      ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "3.3.1-r1" }] }],
    });
    expect(openssl.every((a) => a.source === "alpine-secdb")).toBe(true);
    const xen321 = run.advisories
      .filter((a) => a.id === "CVE-2023-46840")
      .flatMap((a) => a.affected.map((x) => ({ ...x, aliases: a.aliases })))
      .find((x) => x.ecosystem === "alpine:3.21");
    expect(xen321).toEqual({
      ecosystem: "alpine:3.21",
      package: "xen",
      status: "not_affected",
      ranges: [],
      aliases: ["XSA-450"],
    });
    const edge = run.advisories.filter((a) => a.affected.some((x) => x.ecosystem === "alpine:edge"));
    expect(edge.length).toBeGreaterThan(0);
  });
});
