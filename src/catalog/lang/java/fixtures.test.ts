import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { describeUpstreamCases, missingCatalogerFixtures, upstreamFixtures } from "../../testing.js";
import { javaArchiveCataloger } from "./cataloger.js";
import { parseManifest, type Attributes } from "./manifest.js";

/**
 * Upstream Java fixtures. The jar/war fixtures were removed from ../shared (program binaries);
 * archives are built in archive.test.ts instead. What remains of syft-java and is ours is the
 * MANIFEST.MF parser; the other folders are other formats (see "not in scope" below).
 */

const asSyft = (a: Attributes) => a.map(([Key, Value]) => ({ Key, Value }));

describeUpstreamCases({
  format: "MANIFEST.MF (syft-java/manifest)",
  catalogers: [javaArchiveCataloger],
  dirs: ["java/syft-java/manifest"],
  async check(fc) {
    const m = parseManifest(await readFile(fc.fixturePath, "utf8"));
    const got = { Main: asSyft(m.main), ...(m.sections.length ? { Sections: m.sections.map(asSyft) } : {}) };
    return JSON.stringify(got) === JSON.stringify(fc.case.expected_value)
      ? []
      : [`got ${JSON.stringify(got)}, expected ${JSON.stringify(fc.case.expected_value)}`];
  },
  deviations: {
    "java/syft-java/manifest/leading-space":
      "syft trims all leading blanks of a continuation line; the JAR specification removes exactly one space " +
      "(Java wraps at 72 bytes, possibly right before a space, so the rest is significant). We follow the specification.",
  },
});

/** syft-java folders that are not Java archives, each with why it is not this cataloger's format. */
const notInScope: Record<string, string> = {
  "java/syft-java/pom":
    "pom.xml is a build manifest (declared, unresolved dependencies); syft and trivy read it only in directory " +
    "scans, not in images. Embedded pom.xml files are read for licenses only.",
  "java/syft-java/graalvm-sbom":
    "GraalVM native-image embedded SBOM: a different (binary) format, not in this issue",
  "java/syft-java/jvm-installs":
    "JDK `release` files (pkg:generic JDK packages): no Package ecosystem for them yet; listed as follow-up work",
  "java/trivy-gradle-lockfile": "gradle lockfiles: not in scope for this issue",
  "java/trivy-sbt-lockfile": "sbt lockfiles: not in scope for this issue",
};

describe.skipIf(missingCatalogerFixtures() !== null)("upstream Java fixtures not in scope", () => {
  for (const [dir, reason] of Object.entries(notInScope)) {
    it(`${dir}: ${reason}`, () => {
      // Not ours means not claimed either: the archive cataloger does not match those files.
      for (const f of upstreamFixtures([dir]))
        expect(javaArchiveCataloger.matches(`/${f.fixturePath}`, 0o644)).toBe(false);
    });
  }
});
