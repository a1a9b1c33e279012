import { describe, expect, it } from "vitest";
import { ancestors, isUnder, normalizeEntryPath, resolveInRoot, symlinkTarget, whiteoutOf } from "./paths.js";

describe("normalizeEntryPath", () => {
  it("makes tar names absolute and clean", () => {
    expect(normalizeEntryPath("./etc/os-release")).toBe("/etc/os-release");
    expect(normalizeEntryPath("etc//apt/./sources.list")).toBe("/etc/apt/sources.list");
    expect(normalizeEntryPath("usr/lib/")).toBe("/usr/lib");
    expect(normalizeEntryPath("./")).toBe("/");
    expect(normalizeEntryPath("a/b/../c")).toBe("/a/c");
  });

  it("takes absolute names relative to the image root, as runtimes do", () => {
    expect(normalizeEntryPath("/etc/passwd")).toBe("/etc/passwd");
    expect(normalizeEntryPath("//var/lib/dpkg/status")).toBe("/var/lib/dpkg/status");
  });

  it("gives the same answer on its fast path as a segment-by-segment reference", () => {
    const reference = (name: string): string | null => {
      const out: string[] = [];
      for (const seg of name.split("/")) {
        if (seg === "" || seg === ".") continue;
        if (seg === "..") {
          if (!out.length) return null;
          out.pop();
        } else out.push(seg);
      }
      return "/" + out.join("/");
    };
    const names = [
      "",
      "/",
      "./",
      ".//",
      "usr",
      "usr/",
      "./usr/bin/x",
      "/usr//lib/",
      "a/./b",
      "a/../b",
      "..",
      "../a",
      ".bashrc",
      "home/u/.bashrc",
      "a/.wh.b",
      "a/b/.",
      "a/b/..",
      "///x///",
      "./.",
      ".../x",
      "x/...",
      "a/b//",
    ];
    for (const n of names) expect(normalizeEntryPath(n), n).toBe(reference(n));
  });

  it("refuses names that climb above the root", () => {
    expect(normalizeEntryPath("../etc/passwd")).toBeNull();
    expect(normalizeEntryPath("a/../../tmp/x")).toBeNull();
    expect(normalizeEntryPath("/../../../../tmp/pwned")).toBeNull();
  });
});

describe("symlinkTarget", () => {
  it("resolves relative targets from the link's directory and absolute ones from the root", () => {
    expect(symlinkTarget("/etc/os-release", "../usr/lib/os-release")).toBe("/usr/lib/os-release");
    expect(symlinkTarget("/bin", "usr/bin")).toBe("/usr/bin");
    expect(symlinkTarget("/usr/bin/awk", "/etc/alternatives/awk")).toBe("/etc/alternatives/awk");
  });

  it("keeps `..` at the root, as inside a chroot: a link never leaves the image", () => {
    expect(symlinkTarget("/var/lib/dpkg/status", "../../../../../../../etc/shadow")).toBe("/etc/shadow");
    expect(symlinkTarget("/x", "/../../..")).toBe("/");
  });
});

describe("resolveInRoot", () => {
  const links = (m: Record<string, string>) => (p: string) => m[p];

  it("follows symlinks in the last component and in intermediate directories", () => {
    const l = links({ "/etc/os-release": "../usr/lib/os-release", "/lib": "usr/lib" });
    expect(resolveInRoot("/etc/os-release", l)).toEqual({ path: "/usr/lib/os-release" });
    expect(resolveInRoot("/lib/os-release", l)).toEqual({ path: "/usr/lib/os-release" });
    expect(resolveInRoot("/usr/lib/os-release", l)).toEqual({ path: "/usr/lib/os-release" });
  });

  it("follows chains and stays inside the root for links that point above it", () => {
    const l = links({ "/a": "/b", "/b": "c/../../../../d", "/d": "/etc/shadow" });
    expect(resolveInRoot("/a", l)).toEqual({ path: "/etc/shadow" });
  });

  it("stops on loops after 40 links instead of spinning", () => {
    expect(resolveInRoot("/x", links({ "/x": "/y", "/y": "/x" }))).toEqual({ loop: true });
    expect(resolveInRoot("/self/f", links({ "/self": "/self" }))).toEqual({ loop: true });
    // A link to its own directory grows the path at every hop.
    expect(resolveInRoot("/d/l", links({ "/d/l": "l/x" }))).toEqual({ loop: true });
  });

  it("resolves a link to the root", () => {
    expect(resolveInRoot("/root-link/etc/x", links({ "/root-link": "/" }))).toEqual({ path: "/etc/x" });
  });
});

describe("whiteouts", () => {
  it("recognizes .wh.NAME and the opaque marker", () => {
    expect(whiteoutOf("/usr/bin/.wh.curl")).toEqual({ deleted: "/usr/bin/curl" });
    expect(whiteoutOf("/.wh.app")).toEqual({ deleted: "/app" });
    expect(whiteoutOf("/usr/share/doc/openssl/.wh..wh..opq")).toEqual({ opaque: "/usr/share/doc/openssl" });
    expect(whiteoutOf("/.wh..wh..opq")).toEqual({ opaque: "/" });
    expect(whiteoutOf("/usr/bin/curl")).toBeNull();
    expect(whiteoutOf("/usr/bin/x.wh.y")).toBeNull();
  });

  it("ignores aufs metadata and meaningless whiteout names", () => {
    expect(whiteoutOf("/.wh..wh.plnk")).toEqual({ ignored: true });
    expect(whiteoutOf("/.wh..wh.aufs")).toEqual({ ignored: true });
    expect(whiteoutOf("/etc/.wh.")).toEqual({ ignored: true });
    expect(whiteoutOf("/etc/.wh...")).toEqual({ ignored: true });
  });
});

describe("ancestors and isUnder", () => {
  it("lists proper ancestors nearest first", () => {
    expect([...ancestors("/a/b/c")]).toEqual(["/a/b", "/a", "/"]);
    expect([...ancestors("/")]).toEqual([]);
  });

  it("tells descendants apart from siblings sharing a prefix", () => {
    expect(isUnder("/usr/share/doc/openssl/README", "/usr/share/doc/openssl")).toBe(true);
    expect(isUnder("/usr/share/doc/openssl-dev", "/usr/share/doc/openssl")).toBe(false);
    expect(isUnder("/usr", "/")).toBe(true);
    expect(isUnder("/", "/")).toBe(false);
  });
});
