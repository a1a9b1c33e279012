import { afterAll, describe, expect, it } from "vitest";
import { missingCatalogerFixtures } from "../../testing.js";
import {
  checkFixture,
  discover,
  summarize,
  type Deviation,
  type FixtureRule,
  type Outcome,
} from "../javascript/upstream-fixtures.js";
import { phpCatalogers } from "./composer.js";

/** Upstream fixtures of our formats, each presented where it would sit in an image. */
const rules: FixtureRule[] = [
  {
    format: "composer.lock",
    match: (r) => r.endsWith(".lock"),
    at: () => "/var/www/app/composer.lock",
  },
  {
    format: "vendor/composer/installed.json",
    match: (r) => r.endsWith("/installed.json"),
    at: () => "/var/www/app/vendor/composer/installed.json",
  },
];

/** Formats that are not ours (listed so that a new upstream fixture is noticed). */
const outOfScope: Record<string, string> = {
  "php/syft-php/memcached-": "PECL/PEAR registry files are not in scope",
};

const deviations: Record<string, Deviation> = {
  "php/syft-php/composer.lock": {
    reason: "syft drops packages-dev; we report them flagged dev",
    extraDev: true,
  },
};

const missing = missingCatalogerFixtures();
const { fixtures, unclassified } = missing
  ? { fixtures: [], unclassified: [] }
  : await discover(["php"], rules);
const outcomes: Outcome[] = [];

describe.skipIf(missing !== null)("upstream PHP fixtures", () => {
  afterAll(() => {
    for (const line of summarize(outcomes)) console.log(`[fixtures] ${line}`);
  });

  it("classifies every fixture as one of our formats or out of scope", () => {
    expect(unclassified.filter((r) => !Object.keys(outOfScope).some((p) => r.startsWith(p)))).toEqual([]);
  });

  it("lists no deviation for a fixture that does not exist", () => {
    expect(Object.keys(deviations).filter((k) => !fixtures.some((f) => f.rel === k))).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.rel, f] as const))("%s", async (_rel, f) => {
    const o = await checkFixture(f, phpCatalogers, deviations);
    outcomes.push(o);
    if (process.env.FIXTURE_DEBUG && o.status === "fail") console.log(o.rel, o.details);
    expect(o.status === "fail" ? o.details : []).toEqual([]);
  });
});

if (missing) it.skip(`upstream PHP fixtures: ${missing}`, () => {});
