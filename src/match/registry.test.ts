import { describe, expect, it } from "vitest";
import { catalogers } from "../catalog/registry.js";
import type { Distro, Ecosystem, Package } from "../catalog/types.js";
import type { Advisory, Affected } from "../vulndb/types.js";
import { lookupKeys, matchKeyOf, packageMatchKeys, parseMatchKey } from "./keys.js";
import { markPartialFixes, matchPackages } from "./matcher.js";
import { matcherFor, matchers, matchersFor } from "./registry.js";
import type { AdvisoryLookup } from "./types.js";

const distro = (id: string, versionId: string, codename?: string): Distro => ({
  id,
  versionId,
  ...(codename ? { codename } : {}),
});
const bookworm = distro("debian", "12", "bookworm");

const pkg = (p: Partial<Package> & Pick<Package, "name" | "version" | "ecosystem">): Package => ({
  purl: `pkg:${p.ecosystem}/${p.name}@${p.version}`,
  path: "/x",
  ...p,
});

const ids = (list: { id: string }[]) => list.map((m) => m.id);

describe("the matcher registry", () => {
  it("has one matcher per package ecosystem, and one for every cataloger's", () => {
    const all: Ecosystem[] = [
      "deb",
      "apk",
      "rpm",
      "npm",
      "pypi",
      "maven",
      "golang",
      "gem",
      "cargo",
      "nuget",
      "composer",
    ];
    expect(matchers.flatMap((m) => m.ecosystems).sort()).toEqual([...all].sort());
    expect(new Set(matchers.map((m) => m.id)).size).toBe(matchers.length);
    for (const c of catalogers)
      expect(
        matchers.some((m) => m.ecosystems.includes(c.ecosystem)),
        c.id,
      ).toBe(true);
  });

  it("gives OS packages to their family's matcher in the family's distros and in unknown ones", () => {
    const deb = pkg({ name: "bash", version: "5.2.15-2", ecosystem: "deb" });
    const apk = pkg({ name: "busybox", version: "1.36.1-r15", ecosystem: "apk" });
    const rpm = pkg({ name: "bash", version: "5.1.8-6.el9", ecosystem: "rpm" });
    expect(matcherFor(deb, bookworm)?.id).toBe("deb");
    expect(matcherFor(deb, distro("ubuntu", "22.04"))?.id).toBe("deb");
    expect(matcherFor(apk, distro("wolfi", "20230201"))?.id).toBe("apk");
    expect(matcherFor(rpm, distro("amzn", "2023"))?.id).toBe("rpm");
    // Kali, Raspbian: no family lists them; keyed under their own release key
    expect(matcherFor(deb, distro("kali", "2024.1"))?.id).toBe("deb");
    expect(lookupKeys(deb, distro("kali", "2024.1")).map((k) => k.ecosystem)).toEqual(["kali:2024.1"]);
    // a package database of another family's format is not matched against that family's feeds
    expect(matcherFor(deb, distro("alpine", "3.19.1"))).toBeUndefined();
    expect(matcherFor(rpm, bookworm)).toBeUndefined();
    expect(lookupKeys(rpm, bookworm)).toEqual([]);
    // language packages whatever the distro
    expect(matcherFor(pkg({ name: "lodash", version: "4.17.15", ecosystem: "npm" }), bookworm)?.id).toBe(
      "npm",
    );
  });

  it.each([
    ["debian:12", ["deb"]],
    ["debian:sid", ["deb"]],
    ["ubuntu:22.04", ["deb"]],
    ["alpine:3.19", ["apk"]],
    ["alpine:edge", ["apk"]],
    ["wolfi", ["apk"]],
    ["rhel:9", ["rpm"]],
    ["almalinux:9", ["rpm"]],
    ["rocky:9", ["rpm"]],
    ["azurelinux:3.0", ["rpm"]],
    ["amzn:2023", ["rpm"]],
    ["photon:5.0", ["rpm"]],
    // a release of a distro no family lists could be any family's
    ["kali:2024.1", ["deb", "apk", "rpm"]],
    // keys only feeds write (Red Hat's extended-support streams): no family lists them either
    ["rhel_eus:9.2", ["deb", "apk", "rpm"]],
    ["npm", ["npm"]],
    ["pypi", ["pypi"]],
    ["maven", ["maven"]],
    ["golang", ["golang"]],
    ["gem", ["gem"]],
    ["cargo", ["cargo"]],
    ["nuget", ["nuget"]],
    ["composer", ["composer"]],
    // feeds no cataloger has packages for; chainguard images are keyed `wolfi`
    ["pub", []],
    ["hex", []],
    ["chainguard", []],
  ])("a change under %s concerns %o", (eco, want) => {
    expect(ids(matchersFor([matchKeyOf({ ecosystem: eco, package: "p" })]))).toEqual(want);
    expect(ids(matchersFor([{ ecosystem: eco, package: "p" }]))).toEqual(want);
  });

  it("lists the matchers of several keys once each, in registry order", () => {
    const keys = [
      { ecosystem: "pypi", package: "django" },
      { ecosystem: "debian:11", package: "openssl" },
      { ecosystem: "pypi", package: "requests" },
      { ecosystem: "npm", package: "lodash" },
    ];
    expect(ids(matchersFor(keys))).toEqual(["deb", "npm", "pypi"]);
    expect(matchersFor([])).toEqual([]);
  });
});

describe("match keys", () => {
  it("are `<ecosystem key>\\0<name>` as the database stores them", () => {
    expect(matchKeyOf({ ecosystem: "debian:12", package: "openssl" })).toBe("debian:12 openssl");
    // the normalization of vulndb/ecosystems.ts, on both sides
    expect(matchKeyOf({ ecosystem: "PyPI", package: "Zope.Interface" })).toBe("pypi zope-interface");
    expect(matchKeyOf({ ecosystem: "nuget", package: "Newtonsoft.Json" })).toBe("nuget newtonsoft.json");
    expect(matchKeyOf({ ecosystem: "npm", package: "JSONStream" })).toBe("npm JSONStream");
    expect(parseMatchKey("debian:12 openssl")).toEqual({ ecosystem: "debian:12", package: "openssl" });
    expect(() => parseMatchKey("debian:12")).toThrow(/not a match key/);
  });

  it("of a package are its lookup keys' (ecosystem, name), distinct", () => {
    const libssl = pkg({
      name: "libssl3",
      version: "3.0.11-1~deb12u2+b1",
      ecosystem: "deb",
      sourceName: "openssl",
      sourceVersion: "3.0.11-1~deb12u2",
    });
    expect(packageMatchKeys(libssl, bookworm)).toEqual(["debian:12 openssl", "debian:12 libssl3"]);
    expect(
      packageMatchKeys(pkg({ name: "bash", version: "5.2", ecosystem: "deb", sourceName: "bash" }), bookworm),
    ).toEqual(["debian:12 bash"]);
    const rpm = pkg({
      name: "openssl-libs",
      version: "1:3.0.7-25.el9_3",
      ecosystem: "rpm",
      sourceName: "openssl",
      epoch: 1,
    });
    expect(packageMatchKeys(rpm, distro("rocky", "9.3"))).toEqual([
      "rocky:9 openssl-libs",
      "rocky:9 openssl",
    ]);
    expect(packageMatchKeys(pkg({ name: "PyYAML", version: "5.3", ecosystem: "pypi" }), null)).toEqual([
      "pypi pyyaml",
    ]);
    expect(
      packageMatchKeys(pkg({ name: "golang.org/x/net", version: "v0.7.0", ecosystem: "golang" }), null),
    ).toEqual(["golang golang.org/x/net"]);
    // nothing to index for what is never matched
    expect(
      packageMatchKeys(pkg({ name: "stdlib", version: "devel go1.23-abc", ecosystem: "golang" }), null),
    ).toEqual([]);
    expect(packageMatchKeys(pkg({ name: "bash", version: "5.2", ecosystem: "deb" }), null)).toEqual([]);
    expect(
      packageMatchKeys(
        pkg({ name: "mycrate", version: "0.1.0", ecosystem: "cargo", metadata: { local: true } }),
        null,
      ),
    ).toEqual([]);
  });

  it("keys an unknown distro's release in the database's lowercase form", () => {
    expect(
      packageMatchKeys(pkg({ name: "bash", version: "5.2", ecosystem: "deb" }), distro("Kali", "2024.1-RC")),
    ).toEqual(["kali:2024.1-rc bash"]);
  });
});

/** The database as the matcher sees it, recording the keys read. */
function lookup(advisories: Advisory[]): AdvisoryLookup & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    advisoriesFor(eco, name) {
      queries.push(`${eco}/${name}`);
      return advisories
        .map((a) => ({ ...a, affected: a.affected.filter((x) => x.ecosystem === eco && x.package === name) }))
        .filter((a) => a.affected.length);
    },
    enrichment: () => new Map(),
  };
}
const fixedAt = (ecosystem: string, pkg: string, fixed: string): Affected => ({
  ecosystem,
  package: pkg,
  ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
});
const adv = (id: string, affected: Affected[]): Advisory => ({ id, source: "test", aliases: [], affected });

describe("matchPackages with keys (a re-match)", () => {
  const libssl = pkg({
    name: "libssl3",
    version: "3.0.7-1+b1",
    ecosystem: "deb",
    sourceName: "openssl",
    sourceVersion: "3.0.7-1",
  });
  const curl = pkg({ name: "curl", version: "7.88.1-10", ecosystem: "deb" });
  const requests = pkg({
    name: "requests",
    version: "2.19.1",
    ecosystem: "pypi",
    path: "/app/requirements.txt",
  });
  const db = () =>
    lookup([
      adv("CVE-2023-0286", [fixedAt("debian:12", "openssl", "3.0.8-1")]),
      // Ubuntu-style binary-name entry of the same package
      adv("CVE-2023-0464", [fixedAt("debian:12", "libssl3", "3.0.7-1+b2")]),
      adv("CVE-2023-23914", [fixedAt("debian:12", "curl", "7.88.1-10+deb12u1")]),
      adv("PYSEC-2018-28", [fixedAt("pypi", "requests", "2.20.0")]),
    ]);

  it("matches only the packages with a changed key, under all their keys, asking only the matchers concerned", () => {
    const full = matchPackages([libssl, curl, requests], bookworm, db());
    expect(full.map((f) => f.vulnerabilityId)).toEqual([
      "CVE-2023-0286",
      "CVE-2023-0464",
      "CVE-2023-23914",
      "PYSEC-2018-28",
    ]);
    // the binary-name key changed: libssl3 is matched again, under its source key too
    const l = db();
    const found = matchPackages([libssl, curl, requests], bookworm, l, {
      keys: new Set([matchKeyOf({ ecosystem: "debian:12", package: "libssl3" })]),
    });
    expect(found).toEqual(full.filter((f) => f.package.name === "libssl3"));
    expect(l.queries).toEqual(["debian:12/openssl", "debian:12/libssl3"]);
    // a PyPI change reads nothing of the OS packages
    const p = db();
    expect(
      matchPackages([libssl, curl, requests], bookworm, p, { keys: new Set(["pypi requests"]) }).map(
        (f) => f.vulnerabilityId,
      ),
    ).toEqual(["PYSEC-2018-28"]);
    expect(p.queries).toEqual(["pypi/requests"]);
    // no key of the inventory: nothing read
    const n = db();
    expect(matchPackages([libssl, curl, requests], bookworm, n, { keys: new Set(["npm lodash"]) })).toEqual(
      [],
    );
    expect(n.queries).toEqual([]);
  });

  it("keeps to the ecosystems asked for as well", () => {
    const keys = new Set(["pypi requests", "debian:12 curl"]);
    expect(
      matchPackages([libssl, curl, requests], bookworm, db(), { keys, ecosystems: ["deb"] }).map(
        (f) => f.vulnerabilityId,
      ),
    ).toEqual(["CVE-2023-23914"]);
  });

  it("leaves PARTIAL to markPartialFixes over the image's merged findings", () => {
    const partial = lookup([
      adv("CVE-2022-1000", [
        fixedAt("debian:12", "curl", "7.88.1-10+deb12u1"),
        { ecosystem: "debian:12", package: "libssh2", status: "affected", ranges: [] },
      ]),
    ]);
    const ssh = pkg({ name: "libssh2-1", sourceName: "libssh2", version: "1.10.0-3", ecosystem: "deb" });
    const full = matchPackages([curl, ssh], bookworm, partial);
    expect(full.map((f) => [f.package.name, f.fixAvailable])).toEqual([
      ["curl", "YES"],
      ["libssh2-1", "PARTIAL"],
    ]);
    const only = matchPackages([curl, ssh], bookworm, partial, { keys: new Set(["debian:12 libssh2"]) });
    expect(only.map((f) => [f.package.name, f.fixAvailable])).toEqual([["libssh2-1", "NO"]]);
    const merged = [full[0]!, ...only];
    markPartialFixes(merged);
    expect(merged).toEqual(full);
    // and back: once curl's finding is gone, libssh2's is no longer PARTIAL
    const alone = [structuredClone(full[1]!)];
    markPartialFixes(alone);
    expect(alone[0]!.fixAvailable).toBe("NO");
  });
});
