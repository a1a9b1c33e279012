import type { ImageInventory } from "../../image/types.js";

/**
 * Hand-written inventories for the exporter tests. Each package exercises one rule: a deb with
 * its source package, a scoped npm package (dev), a maven jar nested in a fat jar, the same
 * package at two paths, odd license strings, and names that SPDX ids cannot carry as they are.
 */

const LAYER0 = "sha256:" + "a".repeat(64);
const LAYER1 = "sha256:" + "b".repeat(64);

export const MANIFEST_DIGEST = "sha256:" + "1".repeat(64);

export function sampleInventory(): ImageInventory {
  return {
    image: {
      reference: "registry.example.com:5000/team/app:1.2",
      manifestDigest: MANIFEST_DIGEST,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      configDigest: "sha256:" + "2".repeat(64),
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
      layers: [
        {
          digest: "sha256:" + "c".repeat(64),
          diffID: LAYER0,
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          size: 1000,
        },
        {
          digest: "sha256:" + "d".repeat(64),
          diffID: LAYER1,
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          size: 2000,
        },
      ],
    },
    distro: {
      id: "debian",
      versionId: "12",
      codename: "bookworm",
      prettyName: "Debian GNU/Linux 12 (bookworm)",
    },
    packages: [
      {
        name: "libssl3",
        version: "3.0.11-1~deb12u2",
        ecosystem: "deb",
        purl: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12",
        layer: LAYER0,
        path: "/var/lib/dpkg/status",
        licenses: ["Apache-2.0", "Artistic", "GPL-1+"],
        sourceName: "openssl",
        sourceVersion: "3.0.11-1~deb12u2",
        arch: "arm64",
      },
      {
        name: "@babel/core",
        version: "7.23.2",
        ecosystem: "npm",
        purl: "pkg:npm/%40babel/core@7.23.2",
        layer: LAYER1,
        path: "/app/node_modules/@babel/core/package.json",
        licenses: ["MIT"],
        dev: true,
      },
      {
        name: "org.apache.logging.log4j:log4j-core",
        version: "2.14.1",
        ecosystem: "maven",
        purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        layer: LAYER1,
        path: "/app/app.jar",
        archivePath: "BOOT-INF/lib/log4j-core-2.14.1.jar",
        licenses: ["apache-2.0"],
        metadata: { "pom.groupId": "org.apache.logging.log4j", shaded: false, tags: ["a", "b"] },
      },
      // The same package at two paths: two components, two distinct refs.
      {
        name: "lodash",
        version: "4.17.21",
        ecosystem: "npm",
        purl: "pkg:npm/lodash@4.17.21",
        layer: LAYER1,
        path: "/app/node_modules/lodash/package.json",
        licenses: ["MIT"],
      },
      {
        name: "lodash",
        version: "4.17.21",
        ecosystem: "npm",
        purl: "pkg:npm/lodash@4.17.21",
        layer: LAYER1,
        path: "/app/vendor/node_modules/lodash/package.json",
        licenses: ["MIT"],
      },
      // Weird license strings: an expression in lower case, blanks, duplicates, free text.
      {
        name: "weird-licenses",
        version: "1.0.0",
        ecosystem: "npm",
        purl: "pkg:npm/weird-licenses@1.0.0",
        layer: LAYER1,
        path: "/app/node_modules/weird-licenses/package.json",
        licenses: ["(MIT or Apache-2.0)", "  ", "BSD-like (see LICENSE)", "BSD-like (see LICENSE)", "GPL 2"],
      },
      {
        name: "dual",
        version: "2.0.0",
        ecosystem: "cargo",
        purl: "pkg:cargo/dual@2.0.0",
        layer: LAYER1,
        path: "/app/Cargo.lock",
        licenses: ["MIT OR Apache-2.0"],
      },
      // Characters that SPDX ids ([A-Za-z0-9.-]) cannot carry: '+', '~', '_', '@', '/', ':'.
      {
        name: "libstdc++6",
        version: "12.2.0-14",
        ecosystem: "deb",
        purl: "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=arm64&distro=debian-12",
        layer: LAYER0,
        path: "/var/lib/dpkg/status",
        licenses: [],
        sourceName: "gcc-12",
        sourceVersion: "12.2.0-14",
        arch: "arm64",
      },
      {
        name: "zope_interface",
        version: "1:6.0~rc1",
        ecosystem: "pypi",
        purl: "pkg:pypi/zope-interface@1:6.0~rc1",
        layer: LAYER1,
        path: "/usr/lib/python3/dist-packages/zope_interface-6.0.dist-info/METADATA",
      },
      {
        name: "bash",
        // rpm catalogers report the full [epoch:]version-release
        version: "1:5.1.8-6.el9",
        ecosystem: "rpm",
        purl: "pkg:rpm/redhat/bash@5.1.8-6.el9?arch=aarch64&epoch=1",
        layer: LAYER0,
        path: "/var/lib/rpm/rpmdb.sqlite",
        epoch: 1,
        release: "6.el9",
        arch: "aarch64",
        licenses: ["GPLv3+"],
        metadata: { modularitylabel: "" },
      },
    ],
    problems: [
      {
        path: "/app/broken.jar",
        source: "java-archive",
        reason: "truncated zip central directory",
        layer: LAYER1,
      },
    ],
  };
}

/** The smallest inventory: no distro, no packages, a digest-pinned Docker Hub reference. */
export function emptyInventory(): ImageInventory {
  return {
    image: {
      reference: "alpine@sha256:" + "3".repeat(64),
      manifestDigest: "sha256:" + "3".repeat(64),
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      configDigest: "sha256:" + "4".repeat(64),
      platform: { os: "linux", architecture: "amd64" },
      layers: [],
    },
    distro: null,
    packages: [],
    problems: [],
  };
}
