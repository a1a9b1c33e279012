import { describeUpstreamFiles, type Deviation, type FixtureRule } from "../../testing.js";
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

describeUpstreamFiles({
  title: "upstream Ruby fixtures",
  ecosystems: ["ruby"],
  rules,
  deviations,
  catalogers: rubyCatalogers,
});
