import { describe, expect, it } from "vitest";
import { testContext } from "../../testing.js";
import { catalogJavaArchive, defaultJavaArchiveLimits, isJavaArchiveName } from "./archive.js";
import { javaArchiveCataloger } from "./cataloger.js";
import { guessIdentity, splitArchiveFileName } from "./identity.js";
import { parseManifest } from "./manifest.js";
import { buildZip, jarWithPom, type TestZipEntry } from "./zip-testing.js";

const ids = (r: { packages: { name: string; version: string; archivePath?: string }[] }) =>
  r.packages.map((p) => `${p.name}@${p.version}${p.archivePath ? ` in ${p.archivePath}` : ""}`);

const manifest = (text: string): TestZipEntry => ({ name: "META-INF/MANIFEST.MF", data: text });
const pomProps = (g: string, a: string, v: string): TestZipEntry => ({
  name: `META-INF/maven/${g}/${a}/pom.properties`,
  data: `groupId=${g}\nartifactId=${a}\nversion=${v}\n`,
});

describe("java archive identity", () => {
  it("takes pom.properties coordinates, with licenses from the pom.xml beside them", () => {
    const jar = jarWithPom("org.apache.logging.log4j", "log4j-core", "2.19.0", [
      {
        name: "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.xml",
        data: `<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0"><licenses><license>
          <name>Apache-2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license></licenses></project>`,
      },
    ]);
    const r = catalogJavaArchive(jar, "/app/lib/log4j-core-2.19.0.jar", testContext);
    expect(r.problems).toBeUndefined();
    expect(r.packages).toEqual([
      {
        name: "org.apache.logging.log4j:log4j-core",
        version: "2.19.0",
        ecosystem: "maven",
        purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.19.0",
        path: "/app/lib/log4j-core-2.19.0.jar",
        licenses: ["Apache-2.0"],
        metadata: {
          groupId: "org.apache.logging.log4j",
          artifactId: "log4j-core",
          identity: "pom.properties",
        },
      },
    ]);
  });

  it("reports every pom.properties of a shaded jar, and guesses nothing more when one is the jar", () => {
    const jar = buildZip([
      pomProps("org.apache.hadoop.thirdparty", "hadoop-shaded-guava", "1.1.0-SNAPSHOT"),
      pomProps("com.google.guava", "guava", "30.1.1-jre"),
      pomProps("com.google.guava", "failureaccess", "1.0.1"),
      manifest("Manifest-Version: 1.0\nImplementation-Title: Apache Hadoop shaded Guava\n"),
    ]);
    const r = catalogJavaArchive(jar, "/x/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar", testContext);
    expect(ids(r).sort()).toEqual([
      "com.google.guava:failureaccess@1.0.1",
      "com.google.guava:guava@30.1.1-jre",
      "org.apache.hadoop.thirdparty:hadoop-shaded-guava@1.1.0-SNAPSHOT",
    ]);
  });

  it("adds the manifest identity when no pom.properties is the jar itself", () => {
    const jar = buildZip([
      pomProps("com.google.guava", "guava", "30.1.1-jre"),
      pomProps("com.google.guava", "failureaccess", "1.0.1"),
      manifest(
        "Manifest-Version: 1.0\nImplementation-Title: my-app\nImplementation-Version: 3.4.5\nImplementation-Vendor-Id: com.example\n",
      ),
    ]);
    const r = catalogJavaArchive(jar, "/x/app.jar", testContext);
    expect(ids(r)).toEqual([
      "com.google.guava:failureaccess@1.0.1",
      "com.google.guava:guava@30.1.1-jre",
      "com.example:my-app@3.4.5",
    ]);
    expect(r.packages[2]!.metadata).toMatchObject({
      identity: "manifest",
      groupIdFrom: "Implementation-Vendor-Id",
    });
  });

  it("reads Ant/bnd manifests (log4j 1.2.17 as Debian builds it)", () => {
    const text = [
      "Manifest-Version: 1.0",
      "Bundle-License: http://www.apache.org/licenses/LICENSE-2.0.txt",
      "Bundle-Name: Apache Log4j",
      "Bundle-SymbolicName: org.apache.log4j",
      "Bundle-Version: 1.2.17",
      'Export-Package: org.apache.log4j;uses:="org.apache.log4j.helpers,org.a',
      ' pache.log4j.or"',
      "",
      "Name: org/apache/log4j",
      "Implementation-Title: log4j",
      'Implementation-Vendor: "Apache Software Foundation"',
      "Implementation-Version: 1.2.17",
      "",
    ].join("\r\n");
    const r = catalogJavaArchive(buildZip([manifest(text)]), "/usr/share/java/log4j-1.2.17.jar", testContext);
    expect(r.packages).toEqual([
      expect.objectContaining({
        name: "log4j:log4j",
        version: "1.2.17",
        purl: "pkg:maven/log4j/log4j@1.2.17",
        licenses: ["http://www.apache.org/licenses/LICENSE-2.0.txt"],
        metadata: {
          groupId: "log4j",
          artifactId: "log4j",
          identity: "manifest",
          groupIdFrom: "known artifact",
        },
      }),
    ]);
  });

  it("falls back to the file name, and records a problem when nothing identifies the jar", () => {
    const r = catalogJavaArchive(
      buildZip([{ name: "a/B.class" }]),
      "/opt/spring-core-5.3.4-SNAPSHOT.jar",
      testContext,
    );
    expect(ids(r)).toEqual(["spring-core:spring-core@5.3.4-SNAPSHOT"]);
    expect(r.packages[0]!.metadata).toMatchObject({ identity: "file-name", groupIdFrom: "artifactId" });
    const none = catalogJavaArchive(buildZip([{ name: "a/B.class" }]), "/opt/app.jar", testContext);
    expect(none.packages).toEqual([]);
    expect(none.problems).toEqual([expect.stringMatching(/no Maven identity found/)]);
  });

  it("derives groups from Bundle-SymbolicName and reads Jenkins plugin manifests", () => {
    const m = parseManifest(
      "Bundle-SymbolicName: com.fasterxml.jackson.core.jackson-databind;singleton:=true\nBundle-Version: 2.14.0\n",
    );
    expect(guessIdentity(m, "jackson-databind-2.14.0.jar")).toMatchObject({
      groupId: "com.fasterxml.jackson.core",
      artifactId: "jackson-databind",
      version: "2.14.0",
    });
    const hpi = buildZip([
      manifest(
        "Manifest-Version: 1.0\nShort-Name: git\nGroup-Id: org.jenkins-ci.plugins\nPlugin-Version: 4.11.0\nPlugin-License-Name: MIT License\n",
      ),
    ]);
    const r = catalogJavaArchive(hpi, "/var/jenkins_home/plugins/git.jpi", testContext);
    expect(r.packages).toEqual([
      expect.objectContaining({
        name: "org.jenkins-ci.plugins:git",
        version: "4.11.0",
        licenses: ["MIT License"],
      }),
    ]);
  });

  it("splits file names at the first dash before a digit", () => {
    expect(splitArchiveFileName("log4j-core-2.19.0.jar")).toEqual({ name: "log4j-core", version: "2.19.0" });
    expect(splitArchiveFileName("guava-31.1-jre.jar")).toEqual({ name: "guava", version: "31.1-jre" });
    expect(splitArchiveFileName("app.jar")).toEqual({ name: "app" });
  });

  it("matches archive names only", () => {
    for (const p of ["/a/b.jar", "/a/B.JAR", "/x.war", "/x.ear", "/x.par", "/p/git.jpi", "/p/git.hpi"])
      expect(javaArchiveCataloger.matches(p, 0o644)).toBe(true);
    for (const p of ["/a/b.jar.sha1", "/jar", "/a/.jar", "/a/b.zip", "/a/jar/b.class", "/a/b.tar"])
      expect(isJavaArchiveName(p)).toBe(false);
  });
});

describe("nested archives", () => {
  it("reads a Spring Boot fat jar, with archive paths", () => {
    const fat = buildZip([
      manifest("Manifest-Version: 1.0\nMain-Class: org.springframework.boot.loader.JarLauncher\n"),
      pomProps("com.example", "demo", "0.0.1"),
      {
        name: "BOOT-INF/lib/snakeyaml-1.33.jar",
        data: jarWithPom("org.yaml", "snakeyaml", "1.33"),
        method: 0,
      },
      {
        name: "BOOT-INF/lib/jackson-databind-2.14.0.jar",
        data: jarWithPom("com.fasterxml.jackson.core", "jackson-databind", "2.14.0"),
        method: 0,
      },
    ]);
    const r = catalogJavaArchive(fat, "/app/app.jar", testContext);
    expect(r.problems).toBeUndefined();
    expect(ids(r)).toEqual([
      "com.example:demo@0.0.1",
      "com.fasterxml.jackson.core:jackson-databind@2.14.0 in BOOT-INF/lib/jackson-databind-2.14.0.jar",
      "org.yaml:snakeyaml@1.33 in BOOT-INF/lib/snakeyaml-1.33.jar",
    ]);
    expect(r.packages.every((p) => p.path === "/app/app.jar")).toBe(true);
  });

  it("follows ear → war → jar with `!`-separated paths", () => {
    const jar = jarWithPom("commons-io", "commons-io", "2.11.0");
    const war = buildZip([
      { name: "WEB-INF/lib/commons-io-2.11.0.jar", data: jar },
      pomProps("com.example", "web", "1.0"),
    ]);
    const ear = buildZip([{ name: "web.war", data: war }]);
    const r = catalogJavaArchive(ear, "/srv/app.ear", testContext);
    expect(ids(r)).toEqual([
      "com.example:web@1.0 in web.war",
      "commons-io:commons-io@2.11.0 in web.war!WEB-INF/lib/commons-io-2.11.0.jar",
    ]);
    // The ear itself has no identity: a problem, not silence.
    expect(r.problems).toEqual([expect.stringMatching(/^no Maven identity found/)]);
  });

  it("turns broken nested archives into problems and keeps the rest", () => {
    const fat = buildZip([
      pomProps("com.example", "demo", "0.0.1"),
      { name: "lib/broken.jar", data: "this is not a zip" },
      { name: "lib/cut.jar", data: jarWithPom("a", "b", "1").subarray(0, 60), method: 0 },
      { name: "lib/good-1.0.jar", data: jarWithPom("org.good", "good", "1.0") },
    ]);
    const r = catalogJavaArchive(fat, "/app.jar", testContext);
    expect(ids(r)).toEqual(["com.example:demo@0.0.1", "org.good:good@1.0 in lib/good-1.0.jar"]);
    expect(r.problems).toEqual([
      expect.stringMatching(/^lib\/broken\.jar: not a zip archive/),
      expect.stringMatching(/^lib\/cut\.jar: not a zip archive/),
    ]);
  });
});

describe("hostile archives", () => {
  const ctx = { maxNestedArchiveBytes: 1 << 20 };

  it("stops a nested zip bomb at the inflate limit", () => {
    const bomb = buildZip([
      pomProps("com.example", "demo", "1"),
      { name: "lib/bomb.jar", data: Buffer.alloc(64 << 20), declaredSize: 1000 },
    ]);
    expect(bomb.length).toBeLessThan(200_000);
    const t = Date.now();
    const r = catalogJavaArchive(bomb, "/bomb.jar", ctx);
    expect(Date.now() - t).toBeLessThan(2000);
    expect(ids(r)).toEqual(["com.example:demo@1"]);
    expect(r.problems).toEqual([expect.stringMatching(/^lib\/bomb\.jar: inflates beyond 1048576 bytes/)]);
  });

  it("does not open archives nested deeper than the limit", () => {
    let jar = jarWithPom("g", "leaf", "1");
    for (let i = 0; i < 8; i++)
      jar = buildZip([pomProps("g", `level${i}`, "1"), { name: `l${i}.jar`, data: jar }]);
    const r = catalogJavaArchive(jar, "/deep.jar", testContext);
    expect(r.packages).toHaveLength(defaultJavaArchiveLimits.maxDepth + 1);
    expect(r.problems).toEqual([expect.stringMatching(/nested deeper than 4 levels not read$/)]);
  });

  it("reads overlapping entries once, and bounds the total inflated per file", () => {
    const inner = buildZip([
      pomProps("g", "a", "1"),
      { name: "pad", data: Buffer.alloc(900_000, 1), method: 0 },
    ]);
    const entries: TestZipEntry[] = [{ name: "lib/a0.jar", data: inner }];
    for (let i = 1; i < 1000; i++) entries.push({ name: `lib/a${i}.jar`, sameDataAs: "lib/a0.jar" });
    const r = catalogJavaArchive(buildZip(entries), "/overlap.jar", ctx);
    expect(r.packages).toHaveLength(1);
    expect(r.problems!.length).toBeLessThanOrEqual(defaultJavaArchiveLimits.maxProblems + 1);
    expect(r.problems).toContainEqual(expect.stringMatching(/^lib\/a1\.jar: .*overlapping entries/));

    const distinct: TestZipEntry[] = Array.from({ length: 10 }, (_, i) => ({
      name: `lib/b${i}.jar`,
      data: buildZip([
        pomProps("g", `b${i}`, "1"),
        { name: "pad", data: Buffer.alloc(900_000, i), method: 0 },
      ]),
    }));
    const budget = catalogJavaArchive(buildZip(distinct), "/many.jar", ctx);
    expect(budget.packages).toHaveLength(4);
    expect(budget.problems).toContainEqual(expect.stringMatching(/budget of this file is used up/));
  });

  it("records a problem for a truncated or garbage .jar and never throws", () => {
    const jar = jarWithPom("g", "a", "1");
    for (const bad of [
      Buffer.alloc(0),
      Buffer.from("<html>not found</html>"),
      jar.subarray(0, jar.length - 10),
    ]) {
      const r = catalogJavaArchive(bad, "/x.jar", testContext);
      expect(r.packages).toEqual([]);
      expect(r.problems).toHaveLength(1);
    }
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const fat = buildZip([
      pomProps("g", "a", "1"),
      { name: "lib/x.jar", data: jar, method: 0 },
      manifest("A: b\n"),
    ]);
    for (let n = 0; n < 1000; n++) {
      const m = Buffer.from(fat);
      for (let k = 0; k < 3; k++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      expect(() => catalogJavaArchive(m, "/fuzz.jar", testContext)).not.toThrow();
    }
  });
});
