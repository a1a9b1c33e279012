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
import { rubyCatalogers } from "./index.js";

const base = (r: string) => r.slice(r.lastIndexOf("/") + 1);

/** Upstream fixtures of our formats, each presented where it would sit in an image. */
const rules: FixtureRule[] = [
  {
    format: "gemspec (specifications/)",
    match: (r) => r.endsWith(".gemspec"),
    at: (r) => `/usr/local/bundle/specifications/${base(r)}`,
  },
  {
    format: "Gemfile.lock",
    match: (r) => r.startsWith("ruby/trivy-ruby-bundler/") || r === "ruby/syft-ruby/Gemfile.lock",
    at: () => "/app/Gemfile.lock",
  },
];

const deviations: Record<string, Deviation> = {
  "ruby/trivy-ruby-bundler/Gemfile_malformed.lock": {
    reason:
      "a Gemfile.lock without any GEM, GIT or PATH section is recorded as a problem; trivy returns nothing silently",
    problems: true,
  },
};

const missing = missingCatalogerFixtures();
const { fixtures, unclassified } = missing
  ? { fixtures: [], unclassified: [] }
  : await discover(["ruby"], rules);
const outcomes: Outcome[] = [];

describe.skipIf(missing !== null)("upstream Ruby fixtures", () => {
  afterAll(() => {
    for (const line of summarize(outcomes)) console.log(`[fixtures] ${line}`);
  });

  it("classifies every fixture as one of our formats", () => {
    expect(unclassified).toEqual([]);
  });

  it("lists no deviation for a fixture that does not exist", () => {
    expect(Object.keys(deviations).filter((k) => !fixtures.some((f) => f.rel === k))).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.rel, f] as const))("%s", async (_rel, f) => {
    const o = await checkFixture(f, rubyCatalogers, deviations);
    outcomes.push(o);
    if (process.env.FIXTURE_DEBUG && o.status === "fail") console.log(o.rel, o.details);
    expect(o.status === "fail" ? o.details : []).toEqual([]);
  });
});

if (missing) it.skip(`upstream Ruby fixtures: ${missing}`, () => {});
