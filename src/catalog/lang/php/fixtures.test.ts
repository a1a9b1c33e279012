import { describeUpstreamFiles, type Deviation, type FixtureRule } from "../../testing.js";
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

describeUpstreamFiles({
  title: "upstream PHP fixtures",
  ecosystems: ["php"],
  rules,
  outOfScope,
  deviations,
  catalogers: phpCatalogers,
});
