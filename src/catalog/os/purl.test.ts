import { describe, expect, it } from "vitest";
import { parsePurl } from "../purl.js";
import type { Package } from "../types.js";
import { distroQualifier, osPurl } from "./purl.js";

const base = { purl: "", path: "/x" };

describe("osPurl", () => {
  it("builds deb purls under the distro, the full version kept", () => {
    const libc: Package = {
      ...base,
      name: "libc6",
      version: "2.36-9+deb12u4",
      ecosystem: "deb",
      arch: "amd64",
      sourceName: "glibc",
      sourceVersion: "2.36-9+deb12u4",
    };
    expect(osPurl(libc, { id: "debian", versionId: "12", codename: "bookworm" })).toBe(
      "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
    );
    expect(osPurl(libc, null)).toBe("pkg:deb/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc");
    const self: Package = { ...libc, name: "glibc" };
    expect(osPurl(self, { id: "debian", versionId: "", codename: "trixie" })).toBe(
      "pkg:deb/debian/glibc@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-trixie",
    );
    const epoch: Package = {
      ...libc,
      name: "bsdutils",
      version: "1:2.38.1-5+b1",
      epoch: 1,
      sourceName: "util-linux",
      sourceVersion: "2.38.1-5",
    };
    expect(parsePurl(osPurl(epoch, null))).toMatchObject({
      version: "1:2.38.1-5+b1",
      qualifiers: { upstream: "util-linux@2.38.1-5" },
    });
  });

  it("builds rpm purls with version-release and the epoch as a qualifier", () => {
    const node: Package = {
      ...base,
      name: "nodejs",
      version: "1:18.14.2-2.module+el8.7.0",
      ecosystem: "rpm",
      epoch: 1,
      release: "2.module+el8.7.0",
      arch: "x86_64",
      metadata: { sourceRpm: "nodejs-18.14.2-2.module+el8.7.0.src.rpm" },
    };
    const u = parsePurl(osPurl(node, { id: "rhel", versionId: "8.7" }));
    expect(u).toEqual({
      type: "rpm",
      namespace: "rhel",
      name: "nodejs",
      version: "18.14.2-2.module+el8.7.0",
      qualifiers: {
        arch: "x86_64",
        distro: "rhel-8.7",
        epoch: "1",
        upstream: "nodejs-18.14.2-2.module+el8.7.0.src.rpm",
      },
      subpath: undefined,
    });
    const noEpoch: Package = { ...node, version: "18.14.2-2.module+el8.7.0", epoch: undefined };
    expect(osPurl(noEpoch, null)).toBe(
      "pkg:rpm/nodejs@18.14.2-2.module%2Bel8.7.0?arch=x86_64&upstream=nodejs-18.14.2-2.module%2Bel8.7.0.src.rpm",
    );
  });

  it("leaves non-OS packages' purls alone", () => {
    const p: Package = {
      ...base,
      name: "left-pad",
      version: "1.3.0",
      ecosystem: "npm",
      purl: "pkg:npm/left-pad@1.3.0",
    };
    expect(osPurl(p, { id: "debian", versionId: "12" })).toBe("pkg:npm/left-pad@1.3.0");
  });

  it("names the distro by id and version, else codename, else id", () => {
    expect(distroQualifier({ id: "ubuntu", versionId: "22.04", codename: "jammy" })).toBe("ubuntu-22.04");
    expect(distroQualifier({ id: "debian", versionId: "", codename: "trixie" })).toBe("debian-trixie");
    expect(distroQualifier({ id: "arch", versionId: "" })).toBe("arch");
  });
});
