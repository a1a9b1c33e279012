import { describe, expect, it } from "vitest";
import { testContext } from "../../testing.js";
import type { Cataloger } from "../../types.js";
import { composerInstalledCataloger, composerLicenses, composerLockCataloger } from "./composer.js";

async function run(c: Cataloger, path: string, doc: unknown) {
  const text = JSON.stringify(doc);
  expect(c.matches(path, 0o100644)).toBe(true);
  const r = await c.parse(
    { path, size: text.length, mode: 0o100644, content: Buffer.from(text) },
    testContext,
  );
  return {
    ids: r.packages.map((p) => `${p.name}@${p.version}${p.dev ? " dev" : ""}`).sort(),
    packages: r.packages,
    problems: r.problems ?? [],
  };
}

describe("composer", () => {
  it("splits license alternatives", () => {
    expect(composerLicenses(["MIT"])).toEqual(["MIT"]);
    expect(composerLicenses("(MIT or GPL-2.0-only)")).toEqual(["MIT", "GPL-2.0-only"]);
    expect(composerLicenses(null)).toBeUndefined();
  });

  it("composer.lock: packages and packages-dev, vendor purls", async () => {
    const r = await run(composerLockCataloger, "/var/www/composer.lock", {
      packages: [{ name: "symfony/console", version: "v6.4.0", license: ["MIT"] }],
      "packages-dev": [{ name: "phpunit/phpunit", version: "10.5.0" }],
    });
    expect(r.ids).toEqual(["phpunit/phpunit@10.5.0 dev", "symfony/console@v6.4.0"]);
    expect(r.packages.find((p) => !p.dev)).toMatchObject({
      purl: "pkg:composer/symfony/console@v6.4.0",
      licenses: ["MIT"],
    });
  });

  it("installed.json: Composer 1 array and Composer 2 object with dev-package-names", async () => {
    const path = "/var/www/vendor/composer/installed.json";
    expect((await run(composerInstalledCataloger, path, [{ name: "a/b", version: "1.0.0" }])).ids).toEqual([
      "a/b@1.0.0",
    ]);
    const v2 = {
      packages: [
        { name: "a/b", version: "1.0.0" },
        { name: "c/d", version: "2.0.0" },
        { name: "broken", version: "1" },
      ],
      dev: true,
      "dev-package-names": ["c/d"],
    };
    expect(await run(composerInstalledCataloger, path, v2)).toMatchObject({
      ids: ["a/b@1.0.0", "c/d@2.0.0 dev"],
      problems: ["1 entries without a vendor/name and version"],
    });
  });

  it("ignores composer.lock files of installed packages", () => {
    expect(composerLockCataloger.matches("/var/www/vendor/guzzlehttp/guzzle/composer.lock", 0)).toBe(false);
  });
});
