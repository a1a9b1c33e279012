import { describe, expect, it } from "vitest";
import { testContext } from "../../testing.js";
import type { Cataloger } from "../../types.js";
import { decodeText, normalizeName, pypiPackage } from "./common.js";
import { declaredLicenses, isInstalledMetadata, pythonInstalledCataloger, readHeaders } from "./installed.js";
import { pipfileLockCataloger, poetryLockCataloger, uvLockCataloger } from "./locks.js";
import { pipRequirementsCataloger, readLine } from "./requirements.js";

async function run(c: Cataloger, path: string, content: string | Buffer) {
  expect(c.matches(path, 0o100644)).toBe(true);
  const buf = typeof content === "string" ? Buffer.from(content) : content;
  const r = await c.parse({ path, size: buf.length, mode: 0o100644, content: buf }, testContext);
  return {
    ids: r.packages.map((p) => `${p.name}@${p.version}${p.dev ? " dev" : ""}`).sort(),
    packages: r.packages,
    problems: r.problems ?? [],
  };
}

describe("names", () => {
  it("normalizes per PEP 503 in the purl and keeps the declared name", () => {
    expect(normalizeName("Foo.Bar__baz-.-Qux")).toBe("foo-bar-baz-qux");
    expect(pypiPackage("Flask_SQLAlchemy", "3.0.0", "/x")).toMatchObject({
      name: "Flask_SQLAlchemy",
      purl: "pkg:pypi/flask-sqlalchemy@3.0.0",
    });
    expect(pypiPackage("local", "1.2.3+gcr.2", "/x").purl).toBe("pkg:pypi/local@1.2.3%2Bgcr.2");
  });
});

describe("installed distributions", () => {
  it.each([
    ["/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA", true],
    ["/usr/local/lib/python3.11/site-packages/Foo-1.0.DIST-INFO/METADATA", true],
    ["/usr/lib/python3/site-packages/foo.egg-info/PKG-INFO", true],
    ["/usr/lib/python3/site-packages/foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO", true],
    ["/usr/lib/python3/site-packages/distlib-0.3.1-py3.9.egg-info", true],
    ["/usr/lib/python3/site-packages/foo.egg-info/PKG-INFO-INVALID", false],
    ["/usr/src/foo-1.0/PKG-INFO", false], // an sdist's metadata: not installed
    ["/usr/lib/python3/site-packages/foo/METADATA", false],
  ])("%s → %s", (path, want) => {
    expect(isInstalledMetadata(path)).toBe(want);
  });

  it("reads headers up to the first empty line, with continuations", () => {
    const h = readHeaders("Name: a\r\nLicense: line one\r\n  line two\r\nVersion: 1\r\n\r\nName: body\n");
    expect(h.get("name")).toEqual(["a"]);
    expect(h.get("license")).toEqual(["line one\nline two"]);
  });

  it("prefers License-Expression, then a License name, then classifiers", () => {
    const lic = (text: string) => declaredLicenses(readHeaders(text));
    expect(lic("License-Expression: MIT OR Apache-2.0\nLicense: MIT\n")).toEqual(["MIT OR Apache-2.0"]);
    expect(lic("License: BSD\nClassifier: License :: OSI Approved :: BSD License\n")).toEqual(["BSD"]);
    expect(
      lic(
        "License: Copyright (c) 2020\n  Permission is hereby granted\nClassifier: License :: OSI Approved :: MIT License\n",
      ),
    ).toEqual(["MIT License"]);
    expect(lic("Classifier: License :: OSI Approved\n")).toBeUndefined();
  });

  it("records metadata without a version as a problem", async () => {
    const r = await run(pythonInstalledCataloger, "/usr/lib/python3/site-packages/x.egg-info", "Name: x\n");
    expect(r).toMatchObject({ ids: [], problems: ["Python metadata without Version header"] });
  });
});

describe("requirements.txt", () => {
  it.each([
    ["flask==2.0.0", "pinned"],
    ["urllib3===1.26.20", "pinned"],
    ["celery[redis, pytest] == 4.4.7 # comment", "pinned"],
    ["SomeProject ==5.4 ; python_version < '3.8'", "pinned"],
    ["argh==0.26.3 --hash=sha256:abc", "pinned"],
    ["keyring >= 4.1.1", "unpinned"],
    ["django==5.*", "unpinned"],
    ["pyjwt==1.*,>=1.2", "unpinned"],
    ["pandas", "unpinned"],
    ["-r other.txt", "unpinned"],
    ["-e git+https://github.com/a/b.git#egg=b", "unpinned"],
    ["foo @ https://example.com/foo.whl", "unpinned"],
    [">=1.0.0", "not understood"],
    ["foo=='1.2.3'", "not understood"],
    ["foo|bar==1.2.4", "not understood"],
  ])("%s → %s", (line, want) => {
    const r = readLine(line);
    expect("pinned" in r ? "pinned" : r.understood ? "unpinned" : "not understood").toBe(want);
  });

  it("joins continuation lines, reads UTF-16, counts stray lines once", async () => {
    const text = "\ufeffbar == 1.0.0 \\\n  --hash=sha256:abc\n{{ template }}\n%%\n";
    const r = await run(pipRequirementsCataloger, "/app/requirements.txt", Buffer.from(text, "utf16le"));
    expect(r).toMatchObject({
      ids: ["bar@1.0.0"],
      problems: ["2 line(s) are not requirements (first: line 3)"],
    });
  });

  it("decodes UTF-16 BE and LE with a byte order mark", () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a==1", "utf16le")]);
    const be = Buffer.from(le.subarray(2)).swap16();
    expect(decodeText(le)).toBe("a==1");
    expect(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toBe("a==1");
  });

  it("ignores requirement and lock files inside installed packages", () => {
    const files: [Cataloger, string][] = [
      [pipRequirementsCataloger, "requirements.txt"],
      [poetryLockCataloger, "poetry.lock"],
      [pipfileLockCataloger, "Pipfile.lock"],
      [uvLockCataloger, "uv.lock"],
    ];
    for (const [c, name] of files) {
      expect(c.matches(`/app/${name}`, 0)).toBe(true);
      expect(c.matches(`/usr/lib/python3/site-packages/x/${name}`, 0)).toBe(false);
    }
  });
});

describe("lock files", () => {
  it("poetry: category (Poetry 1) and groups (Poetry 2) mark development packages", async () => {
    const text = `[[package]]
name = "a"
version = "1.0"
category = "dev"

[[package]]
name = "b"
version = "2.0"
groups = ["main", "dev"]

[[package]]
name = "c"
version = "3.0"
groups = ["test"]
`;
    expect((await run(poetryLockCataloger, "/app/poetry.lock", text)).ids).toEqual([
      "a@1.0 dev",
      "b@2.0",
      "c@3.0 dev",
    ]);
  });

  it("Pipfile.lock: develop is development-only unless also in default; VCS entries have no version", async () => {
    const lock = {
      _meta: {},
      default: { six: { version: "==1.16.0" }, mylib: { git: "https://x", ref: "abc" } },
      develop: { six: { version: "==1.16.0" }, pytest: { version: "==8.0.0" } },
    };
    expect((await run(pipfileLockCataloger, "/app/Pipfile.lock", JSON.stringify(lock))).ids).toEqual([
      "pytest@8.0.0 dev",
      "six@1.16.0",
    ]);
  });

  it("uv: skips the project, follows extras, marks dev-only packages", async () => {
    const text = `version = 1
[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "httpx", extra = ["socks"] }]
[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "httpx"
version = "0.28.1"
source = { registry = "https://pypi.org/simple" }
[package.optional-dependencies]
socks = [{ name = "socksio" }]

[[package]]
name = "socksio"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.3.4"
source = { registry = "https://pypi.org/simple" }
`;
    expect((await run(uvLockCataloger, "/app/uv.lock", text)).ids).toEqual([
      "httpx@0.28.1",
      "pytest@8.3.4 dev",
      "socksio@1.0.0",
    ]);
  });
});
