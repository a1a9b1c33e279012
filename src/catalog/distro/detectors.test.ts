import { describe, expect, it } from "vitest";
import { distroDetectors } from "../registry.js";
import { detectDistro } from "./detect.js";
import {
  alpineReleaseDetector,
  debianVersionDetector,
  lsbReleaseDetector,
  redhatReleaseDetector,
} from "./fallbacks.js";
import { parseOsRelease } from "./os-release.js";

const b = (s: string) => Buffer.from(s);

describe("os-release", () => {
  it("reads ID, VERSION_ID, codename, ID_LIKE and PRETTY_NAME with shell quoting", () => {
    expect(
      parseOsRelease(
        b(
          '# comment\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n' +
            "VERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n",
        ),
      ),
    ).toEqual({
      id: "ubuntu",
      versionId: "22.04",
      codename: "jammy",
      idLike: ["debian"],
      prettyName: "Ubuntu 22.04.4 LTS",
    });
    expect(
      parseOsRelease(b('ID=\'rhel\'\nID_LIKE="fedora centos"\nVERSION_ID=9.4\nNAME="Red \\"Hat\\""\n')),
    ).toEqual({
      id: "rhel",
      versionId: "9.4",
      idLike: ["fedora", "centos"],
      prettyName: 'Red "Hat"',
    });
  });

  it("keeps a distro without VERSION_ID (Debian testing), drops one without ID", () => {
    expect(
      parseOsRelease(b('PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\nVERSION_CODENAME=trixie\n')),
    ).toEqual({
      id: "debian",
      versionId: "",
      codename: "trixie",
      prettyName: "Debian GNU/Linux trixie/sid",
    });
    expect(parseOsRelease(b("NAME=x\nVERSION_ID=1\n"))).toBeNull();
    expect(parseOsRelease(b(""))).toBeNull();
    expect(parseOsRelease(Buffer.from([0, 1, 2, 0xff, 0xfe]))).toBeNull();
  });
});

describe("fallback files", () => {
  it("alpine-release", () => {
    expect(alpineReleaseDetector.parse("/etc/alpine-release", b("3.19.1\n"))).toEqual({
      id: "alpine",
      versionId: "3.19.1",
    });
    expect(alpineReleaseDetector.parse("/etc/alpine-release", b("3.20.0_alpha20240329\n"))).toMatchObject({
      versionId: "3.20.0_alpha20240329",
    });
    expect(alpineReleaseDetector.parse("/etc/alpine-release", b("hello world"))).toBeNull();
  });

  it("lsb-release", () => {
    expect(
      lsbReleaseDetector.parse(
        "/etc/lsb-release",
        b(
          'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\nDISTRIB_CODENAME=bionic\nDISTRIB_DESCRIPTION="Ubuntu 18.04.2 LTS"\n',
        ),
      ),
    ).toEqual({
      id: "ubuntu",
      versionId: "18.04",
      codename: "bionic",
      idLike: ["debian"],
      prettyName: "Ubuntu 18.04.2 LTS",
    });
    expect(lsbReleaseDetector.parse("/etc/lsb-release", b("invalid"))).toBeNull();
  });

  it("debian_version", () => {
    expect(debianVersionDetector.parse("/etc/debian_version", b("12.5\n"))).toEqual({
      id: "debian",
      versionId: "12.5",
    });
    expect(debianVersionDetector.parse("/etc/debian_version", b("trixie/sid\n"))).toEqual({
      id: "debian",
      versionId: "trixie/sid",
      codename: "trixie",
    });
    expect(debianVersionDetector.parse("/etc/debian_version", b(""))).toBeNull();
    expect(debianVersionDetector.parse("/etc/debian_version", b("<html>"))).toBeNull();
  });

  it("the redhat-release family", () => {
    const cases: [string, string, string, string?][] = [
      ["CentOS Linux release 7.6.1810 (Core) ", "centos", "7.6.1810", "Core"],
      ["CentOS Stream release 9", "centos", "9"],
      ["Red Hat Enterprise Linux release 9.4 (Plow)", "rhel", "9.4", "Plow"],
      ["Red Hat Enterprise Linux Server release 7.6 (Maipo)", "rhel", "7.6", "Maipo"],
      ["Oracle Linux Server release 7.6", "ol", "7.6"],
      ["AlmaLinux release 8.4 (Electric Cheetah)", "almalinux", "8.4", "Electric Cheetah"],
      ["Rocky Linux release 8.4 (Green Obsidian)", "rocky", "8.4", "Green Obsidian"],
      ["Fedora release 29 (Twenty Nine)", "fedora", "29", "Twenty Nine"],
      ["Amazon Linux release 2 (Karoo)", "amzn", "2", "Karoo"],
      ["Amazon Linux AMI release 2018.03", "amzn", "2018.03"],
    ];
    for (const [line, id, versionId, codename] of cases)
      expect(redhatReleaseDetector.parse("/etc/redhat-release", b(line + "\n")), line).toMatchObject({
        id,
        versionId,
        prettyName: line.trim(),
        ...(codename ? { codename } : {}),
      });
    expect(
      redhatReleaseDetector.parse("/etc/rocky-release", b("Rocky Linux release 9.3 (Blue Onyx)"))?.idLike,
    ).toEqual(["rhel", "centos", "fedora"]);
    expect(redhatReleaseDetector.parse("/etc/redhat-release", b("Mystery OS release 1"))).toBeNull();
    expect(redhatReleaseDetector.parse("/etc/redhat-release", b(""))).toBeNull();
    expect(redhatReleaseDetector.parse("/etc/redhat-release", b("x".repeat(100_000)))).toBeNull();
  });
});

describe("hostile identity files", () => {
  it("answer null or a bounded result, quickly", () => {
    const long = "1" + ".1".repeat(200_000) + "!";
    for (const d of [alpineReleaseDetector, debianVersionDetector, redhatReleaseDetector, lsbReleaseDetector])
      expect(d.parse(d.paths[0]!, b(long)), d.id).toBeNull();
    expect(parseOsRelease(b("A=b\n".repeat(500_000) + "ID=x\nVERSION_ID=1\n"))).toMatchObject({ id: "x" });
    expect(parseOsRelease(Buffer.alloc(1_000_000, 0xff))).toBeNull();
  });
});

describe("detectDistro over the registered detectors", () => {
  const fs =
    (files: Record<string, string>) =>
    (p: string): Buffer | undefined =>
      p in files ? b(files[p]!) : undefined;

  it("is registered in the documented preference order", () => {
    expect(distroDetectors.map((d) => d.id)).toEqual([
      "os-release",
      "alpine-release",
      "lsb-release",
      "debian_version",
      "redhat-release",
    ]);
  });

  it("prefers os-release, then /usr/lib/os-release", () => {
    const got = detectDistro(
      fs({
        "/etc/os-release": "ID=debian\nVERSION_ID=12\n",
        "/usr/lib/os-release": "ID=other\nVERSION_ID=1\n",
        "/etc/debian_version": "12.5",
      }),
      distroDetectors,
    );
    expect(got).toMatchObject({ distro: { id: "debian", versionId: "12" }, path: "/etc/os-release" });
    expect(
      detectDistro(fs({ "/usr/lib/os-release": "ID=wolfi\nVERSION_ID=20230201\n" }), distroDetectors)?.distro
        .id,
    ).toBe("wolfi");
  });

  it("falls through a present but unreadable file", () => {
    const got = detectDistro(
      fs({ "/etc/os-release": "garbage", "/etc/alpine-release": "3.4.6" }),
      distroDetectors,
    );
    expect(got).toMatchObject({ distro: { id: "alpine", versionId: "3.4.6" }, detector: "alpine-release" });
  });

  it("takes Ubuntu's lsb-release over its debian_version", () => {
    const got = detectDistro(
      fs({
        "/etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=16.04\n",
        "/etc/debian_version": "stretch/sid",
      }),
      distroDetectors,
    );
    expect(got?.distro).toMatchObject({ id: "ubuntu", versionId: "16.04" });
  });

  it("takes Oracle's own release file over its redhat-release", () => {
    const got = detectDistro(
      fs({
        "/etc/redhat-release": "Red Hat Enterprise Linux Server release 7.6 (Maipo)",
        "/etc/oracle-release": "Oracle Linux Server release 7.6",
        "/etc/system-release": "Oracle Linux Server release 7.6",
      }),
      distroDetectors,
    );
    expect(got).toMatchObject({ distro: { id: "ol", versionId: "7.6" }, path: "/etc/oracle-release" });
  });

  it("finds nothing in an image without identity files", () => {
    expect(detectDistro(() => undefined, distroDetectors)).toBeNull();
  });
});
