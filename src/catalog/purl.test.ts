import { describe, expect, it } from "vitest";
import { parsePurl, purl } from "./purl.js";

describe("purl", () => {
  it("builds spec-conformant purls", () => {
    expect(purl({ type: "npm", namespace: "@babel", name: "core", version: "7.0.0" })).toBe(
      "pkg:npm/%40babel/core@7.0.0",
    );
    expect(
      purl({
        type: "deb",
        namespace: "debian",
        name: "libc6",
        version: "2.36-9+deb12u4",
        qualifiers: { distro: "debian-12", arch: "amd64" },
      }),
    ).toBe("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
    expect(
      purl({ type: "maven", namespace: "org.apache.logging.log4j", name: "log4j-core", version: "2.19.0" }),
    ).toBe("pkg:maven/org.apache.logging.log4j/log4j-core@2.19.0");
    expect(
      purl({
        type: "rpm",
        namespace: "redhat",
        name: "bash",
        version: "1:4.4-1",
        qualifiers: { epoch: undefined },
      }),
    ).toBe("pkg:rpm/redhat/bash@1:4.4-1");
  });

  it("lowercases qualifier keys, then sorts them in code-point order (the spec), whatever the locale", () => {
    expect(
      purl({
        type: "generic",
        name: "x",
        qualifiers: { Vcs_Url: "v", "vcs-url": "w", Arch: "a" },
      }),
    ).toBe("pkg:generic/x?arch=a&vcs-url=w&vcs_url=v"); // ICU collation puts "_" before "-"
  });

  it("round-trips", () => {
    const s = "pkg:golang/golang.org/x/net@v0.7.0";
    expect(parsePurl(s)).toMatchObject({
      type: "golang",
      namespace: "golang.org/x",
      name: "net",
      version: "v0.7.0",
    });
    expect(purl(parsePurl(s)!)).toBe(s);
  });
});
