import { describe, expect, it } from "vitest";
import type { Distro, Package } from "../catalog/types.js";
import { osvEcosystemKey } from "../vulndb/ecosystems.js";
import { alpineEcosystem } from "../vulndb/importers/alpine.js";
import { debianEcosystem } from "../vulndb/importers/debian-releases.js";
import { distroKey, lookupKeys } from "./keys.js";

const distro = (id: string, versionId: string, codename?: string): Distro => ({
  id,
  versionId,
  ...(codename ? { codename } : {}),
});

const pkg = (p: Partial<Package> & Pick<Package, "name" | "version" | "ecosystem">): Package => ({
  purl: `pkg:${p.ecosystem}/${p.name}@${p.version}`,
  path: "/x",
  ...p,
});

describe("distroKey", () => {
  it.each([
    [distro("debian", "12", "bookworm"), "debian:12"],
    [distro("debian", "12.5"), "debian:12"],
    // testing and unstable have no VERSION_ID: the codename names the release number
    [distro("debian", "", "trixie"), "debian:13"],
    [distro("debian", ""), "debian:sid"],
    [distro("ubuntu", "22.04", "jammy"), "ubuntu:22.04"],
    [distro("alpine", "3.19.1"), "alpine:3.19"],
    [distro("alpine", "3.21.0"), "alpine:3.21"],
    // edge reports a pre-release VERSION_ID
    [distro("alpine", "3.21_alpha20240807"), "alpine:edge"],
    [distro("rhel", "9.3"), "rhel:9"],
    [distro("almalinux", "9.4"), "almalinux:9"],
    [distro("rocky", "8.9"), "rocky:8"],
    [distro("amzn", "2023"), "amzn:2023"],
    [distro("azurelinux", "3.0.20240824"), "azurelinux:3.0"],
    [distro("wolfi", "20230201"), "wolfi"],
    [distro("Debian", "11"), "debian:11"],
    [distro("photon", "5.0"), "photon:5.0"],
  ])("%o → %s", (d, key) => expect(distroKey(d)).toBe(key));

  it("is null for an unknown distro without a release", () => {
    expect(distroKey(distro("openeuler", ""))).toBeNull();
  });

  it("names the keys the distro importers write", () => {
    // Importer side and matcher side must agree, or nothing ever matches.
    expect(distroKey(distro("debian", "12"))).toBe(debianEcosystem("bookworm"));
    expect(distroKey(distro("debian", "", "trixie"))).toBe(debianEcosystem("trixie"));
    expect(distroKey(distro("alpine", "3.19.1"))).toBe(alpineEcosystem("v3.19"));
    expect(distroKey(distro("alpine", "3.21_alpha20240807"))).toBe(alpineEcosystem("edge"));
    expect(distroKey(distro("almalinux", "9.4"))).toBe(osvEcosystemKey("AlmaLinux:9"));
    expect(distroKey(distro("rocky", "9.3"))).toBe(osvEcosystemKey("Rocky Linux:9"));
    expect(distroKey(distro("rhel", "9.3"))).toBe(osvEcosystemKey("Red Hat:enterprise_linux:9::baseos"));
    expect(distroKey(distro("rhel", "9.3"))).toBe(osvEcosystemKey("Red Hat:enterprise_linux:9::appstream"));
    expect(distroKey(distro("ubuntu", "22.04"))).toBe(osvEcosystemKey("Ubuntu:22.04:LTS"));
    expect(distroKey(distro("ubuntu", "16.04"))).toBe(osvEcosystemKey("Ubuntu:Pro:16.04:LTS"));
    expect(distroKey(distro("debian", "12"))).toBe(osvEcosystemKey("Debian:12"));
    // Extended-support streams publish other fixed versions: never the base release's key.
    expect(osvEcosystemKey("Red Hat:rhel_eus:9.2::baseos")).not.toBe("rhel:9");
  });
});

describe("lookupKeys", () => {
  const bookworm = distro("debian", "12", "bookworm");

  it("keys deb packages by source package and source version, and by binary name too", () => {
    const p = pkg({
      name: "libssl3",
      version: "3.0.11-1~deb12u2+b1",
      ecosystem: "deb",
      sourceName: "openssl",
      sourceVersion: "3.0.11-1~deb12u2",
    });
    expect(lookupKeys(p, bookworm)).toEqual([
      { ecosystem: "debian:12", name: "openssl", version: "3.0.11-1~deb12u2", scheme: "deb" },
      // Ubuntu OVAL names binary packages
      { ecosystem: "debian:12", name: "libssl3", version: "3.0.11-1~deb12u2+b1", scheme: "deb" },
    ]);
    expect(lookupKeys(pkg({ name: "bash", version: "5.2.15-2+b2", ecosystem: "deb" }), bookworm)).toEqual([
      { ecosystem: "debian:12", name: "bash", version: "5.2.15-2+b2", scheme: "deb" },
    ]);
  });

  it("keys apk packages by origin, rpm packages by name and source name with the epoch", () => {
    const apk = pkg({ name: "libcrypto3", version: "3.1.4-r5", ecosystem: "apk", sourceName: "openssl" });
    expect(lookupKeys(apk, distro("alpine", "3.19.1"))).toEqual([
      { ecosystem: "alpine:3.19", name: "openssl", version: "3.1.4-r5", scheme: "apk" },
    ]);
    const rpm = pkg({
      name: "openssl-libs",
      version: "1:3.0.7-25.el9_3",
      ecosystem: "rpm",
      sourceName: "openssl",
      epoch: 1,
    });
    expect(lookupKeys(rpm, distro("almalinux", "9.3"))).toEqual([
      {
        ecosystem: "almalinux:9",
        name: "openssl-libs",
        version: "1:3.0.7-25.el9_3",
        scheme: "rpm",
        epoch: 1,
      },
      { ecosystem: "almalinux:9", name: "openssl", version: "1:3.0.7-25.el9_3", scheme: "rpm", epoch: 1 },
    ]);
  });

  it("does not key OS packages without a known distro release", () => {
    const p = pkg({ name: "bash", version: "5.2.15-2", ecosystem: "deb" });
    expect(lookupKeys(p, null)).toEqual([]);
    expect(lookupKeys(pkg({ name: "bash", version: "5.1-6", ecosystem: "rpm" }), distro("x", ""))).toEqual(
      [],
    );
  });

  it.each([
    // PEP 503: case, runs of - _ . are one -
    [{ name: "Django", version: "2.2", ecosystem: "pypi" }, "pypi", "django", "2.2", "pep440"],
    [
      { name: "zope.interface", version: "5.0", ecosystem: "pypi" },
      "pypi",
      "zope-interface",
      "5.0",
      "pep440",
    ],
    [{ name: "PyYAML", version: "5.3", ecosystem: "pypi" }, "pypi", "pyyaml", "5.3", "pep440"],
    [
      { name: "Newtonsoft.Json", version: "12.0.1", ecosystem: "nuget" },
      "nuget",
      "newtonsoft.json",
      "12.0.1",
      "nuget",
    ],
    // Go: advisories write versions without the v
    [
      { name: "golang.org/x/net", version: "v0.7.0", ecosystem: "golang" },
      "golang",
      "golang.org/x/net",
      "0.7.0",
      "go",
    ],
    [{ name: "stdlib", version: "v1.19.8", ecosystem: "golang" }, "golang", "stdlib", "1.19.8", "go"],
    // npm names are case-sensitive and kept, scopes included
    [{ name: "@babel/core", version: "7.0.0", ecosystem: "npm" }, "npm", "@babel/core", "7.0.0", "semver"],
    [{ name: "JSONStream", version: "1.3.5", ecosystem: "npm" }, "npm", "JSONStream", "1.3.5", "semver"],
    [
      { name: "org.apache.logging.log4j:log4j-core", version: "2.19.0", ecosystem: "maven" },
      "maven",
      "org.apache.logging.log4j:log4j-core",
      "2.19.0",
      "maven",
    ],
    [{ name: "rails", version: "6.0.3", ecosystem: "gem" }, "gem", "rails", "6.0.3", "gem"],
    [{ name: "tokio", version: "1.0.0", ecosystem: "cargo" }, "cargo", "tokio", "1.0.0", "cargo"],
    [
      { name: "symfony/http-kernel", version: "v4.4.0", ecosystem: "composer" },
      "composer",
      "symfony/http-kernel",
      "v4.4.0",
      "composer",
    ],
  ] as const)("%o → %s/%s@%s (%s)", (p, ecosystem, name, version, scheme) => {
    expect(lookupKeys(pkg(p), null)).toEqual([{ ecosystem, name, version, scheme }]);
  });

  it("skips packages that cannot be matched: no version, local code, a devel Go toolchain", () => {
    expect(lookupKeys(pkg({ name: "example.com/app", version: "", ecosystem: "golang" }), null)).toEqual([]);
    expect(lookupKeys(pkg({ name: "left-pad", version: "", ecosystem: "npm" }), null)).toEqual([]);
    const local = pkg({ name: "mycrate", version: "0.1.0", ecosystem: "cargo", metadata: { local: true } });
    expect(lookupKeys(local, null)).toEqual([]);
    const project = pkg({ name: "MyApp", version: "1.0.0", ecosystem: "nuget", metadata: { project: true } });
    expect(lookupKeys(project, null)).toEqual([]);
    expect(
      lookupKeys(pkg({ name: "stdlib", version: "devel go1.23-abc", ecosystem: "golang" }), null),
    ).toEqual([]);
  });

  it("leaves a language package an OS package installed to the distro's advisories (metadata.ownedBy)", () => {
    const urllib3 = pkg({
      name: "urllib3",
      version: "1.26.12",
      ecosystem: "pypi",
      path: "/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO",
      metadata: { ownedBy: "python3-urllib3" },
    });
    expect(lookupKeys(urllib3, distro("debian", "12", "bookworm"))).toEqual([]);
    // no known distro: the OS package cannot be matched, so the language feed still is
    expect(lookupKeys(urllib3, null)).toEqual([
      { ecosystem: "pypi", name: "urllib3", version: "1.26.12", scheme: "pep440" },
    ]);
  });
});
