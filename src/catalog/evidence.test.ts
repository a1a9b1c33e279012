import { describe, expect, it } from "vitest";
import { isInstalledMetadata, isOwnershipRelevant, lockFamily, mayBeEvidenceName } from "./evidence.js";

describe("evidence of language packages, by path", () => {
  it("installed metadata: Python distributions, gem specifications, node_modules manifests", () => {
    for (const p of [
      "/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO",
      "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
      "/usr/lib/python2.7/argparse.egg-info",
      "/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
      "/usr/share/nodejs/npm/node_modules/semver/package.json",
      "/app/node_modules/@scope/x/package.json",
    ])
      expect(isInstalledMetadata(p), p).toBe(true);
    for (const p of [
      "/app/package.json",
      "/app/node_modules/x/dist/package.json",
      "/app/x.gemspec",
      "/usr/lib/python3/dist-packages/urllib3/__init__.py",
    ])
      expect(isInstalledMetadata(p), p).toBe(false);
  });

  it("lock files by name, with their family; other declared-dependency files are none", () => {
    expect(lockFamily("/app/package-lock.json")).toBe("npm");
    expect(lockFamily("/app/yarn.lock")).toBe("npm");
    expect(lockFamily("/app/pnpm-lock.yaml")).toBe("npm");
    expect(lockFamily("/app/npm-shrinkwrap.json")).toBe("npm");
    expect(lockFamily("/app/requirements.txt")).toBe("python");
    expect(lockFamily("/app/poetry.lock")).toBe("python");
    expect(lockFamily("/app/Pipfile.lock")).toBe("python");
    expect(lockFamily("/app/uv.lock")).toBe("python");
    expect(lockFamily("/app/Gemfile.lock")).toBe("ruby");
    expect(lockFamily("/app/gems.locked")).toBe("ruby");
    expect(lockFamily("/app/composer.lock")).toBe("composer");
    for (const p of ["/app/Cargo.lock", "/app/go.mod", "/app/packages.lock.json", "/app/package.json"])
      expect(lockFamily(p), p).toBeNull();
  });

  it("what OS package file lists keep: evidence paths only, tested by name first", () => {
    expect(isOwnershipRelevant("/usr/lib/python3/dist-packages/idna-3.3.egg-info/PKG-INFO")).toBe(true);
    expect(isOwnershipRelevant("/usr/share/doc/x/examples/yarn.lock")).toBe(true);
    expect(isOwnershipRelevant("/usr/lib/python3/dist-packages/idna-3.3.egg-info/top_level.txt")).toBe(false);
    expect(isOwnershipRelevant("/usr/share/doc/x/METADATA")).toBe(false); // not in a .dist-info
    expect(isOwnershipRelevant("/usr/bin/python3")).toBe(false);
    // whatever isOwnershipRelevant accepts, the name test accepts first
    for (const p of [
      "/a/b.dist-info/METADATA",
      "/a/b.egg-info",
      "/s/specifications/x-1.gemspec",
      "/a/Gemfile.lock",
    ])
      expect(mayBeEvidenceName(p.slice(p.lastIndexOf("/") + 1)) && isOwnershipRelevant(p)).toBe(true);
  });
});
