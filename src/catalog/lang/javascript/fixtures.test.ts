import { describeUpstreamFiles, type Deviation, type FixtureRule } from "../../testing.js";
import { javascriptCatalogers } from "./index.js";

/** Upstream fixtures of our formats, each presented where it would sit in an image. */
const rules: FixtureRule[] = [
  {
    format: "npm package.json (node_modules)",
    match: (r) =>
      r.startsWith("javascript/trivy-nodejs-packagejson/") ||
      r.startsWith("javascript/syft-javascript/pkg-json/"),
    at: () => "/app/node_modules/pkg/package.json",
  },
  {
    format: "npm package-lock.json",
    match: (r) =>
      r.startsWith("javascript/trivy-nodejs-npm/") || r.startsWith("javascript/syft-javascript/pkg-lock/"),
    at: () => "/app/package-lock.json",
  },
  {
    format: "yarn.lock",
    match: (r) =>
      r.startsWith("javascript/trivy-nodejs-yarn/") || r.startsWith("javascript/syft-javascript/yarn"),
    at: (r) => (r.endsWith("yarn.lock") || r.endsWith(".lock") ? "/app/yarn.lock" : "/app"),
  },
  {
    format: "pnpm-lock.yaml",
    match: (r) =>
      r.startsWith("javascript/trivy-nodejs-pnpm/") || r.startsWith("javascript/syft-javascript/pnpm"),
    at: () => "/app/pnpm-lock.yaml",
  },
];

/** Formats that are not ours (listed so that a new upstream fixture is noticed). */
const outOfScope: Record<string, string> = {
  "javascript/trivy-nodejs-bun/": "bun.lock is not in scope",
};

const rootProject =
  "the lock file's root is the application itself, not a dependency (like a package.json outside node_modules)";

const trivyDropsDev = "trivy's pnpm v5/v6 parser drops development dependencies; we report them flagged dev";
const syftDropsDev = "syft's npm parser drops development dependencies; we report them flagged dev";

const deviations: Record<string, Deviation> = {
  "javascript/syft-javascript/pkg-json/package-partial.json": {
    reason:
      "syft's parser test returns an empty package for a package.json without name and version; it is no package",
    omit: ["@"],
  },
  "javascript/trivy-nodejs-packagejson/without_version_package.json": {
    reason: "a package.json under node_modules without a version cannot be matched: recorded as a problem",
    problems: true,
  },
  "javascript/syft-javascript/pkg-lock/package-lock-2.json": {
    reason: `${rootProject} (an application named "npm" would match npm's advisories); ${syftDropsDev}`,
    omit: ["npm@6.14.6"],
    extraDev: true,
  },
  "javascript/syft-javascript/pkg-lock/package-lock-3.json": {
    reason: `${rootProject}; ${syftDropsDev}`,
    omit: ["lock-v3-fixture@1.0.0"],
    extraDev: true,
  },
  "javascript/syft-javascript/pnpm-multi-doc/pnpm-lock.yaml": {
    reason:
      "the first document is pnpm's own lockfile (packageManagerDependencies: the tool, not a project dependency); " +
      "trivy (pnpm-lock_v9_multiple_documents.yaml) skips it as we do",
    omit: ["pnpm@12.0.0-rc.3", "@pnpm/exe.linux-x64@12.0.0-rc.3"],
  },
  "javascript/trivy-nodejs-npm/package-lock_v3_with_workspace.json": {
    reason: "workspace member function1 has no version: nothing to match on",
    omit: ["function1@"],
  },
  "javascript/trivy-nodejs-npm/package-lock_v3_with_legacy_licenses.json": {
    reason:
      'trivy ignores a license array of strings; syft (array-license-package-lock.json) reads ["MIT", "Apache2"], as we do',
    licenses: { "pause-stream@0.0.11": ["MIT", "Apache2"] },
  },
  "javascript/syft-javascript/yarn-berry/yarn.lock": {
    reason: `${rootProject}: the workspace:. entry`,
    omit: ["c0n-fab_u.laTION@7.7.7"],
  },
  "javascript/syft-javascript/yarn-dev-deps": {
    reason:
      "expectation is a Go func (not transcribable); yarn.lock alone cannot tell dev dependencies (needs package.json)",
  },
  "javascript/syft-javascript/yarn-berry-dev-deps": {
    reason:
      "expectation is a Go func (not transcribable); yarn.lock alone cannot tell dev dependencies (needs package.json)",
  },
  "javascript/syft-javascript/pnpm/pnpm-lock.yaml": {
    reason:
      "the packages section is trimmed: syft reports the importer's dependencies but not its devDependencies, " +
      "we report both (dev flagged); its exclude-dev case is compared against our non-dev packages",
    extraDev: true,
    nonDevCases: ["parse_pnpm_lock_test.go: TestParsePnpmLock_ExcludeDevDependencies"],
  },
  "javascript/trivy-nodejs-pnpm/pnpm-lock_v9.yaml": {
    reason:
      "package1 is a local directory (file:package1) without a version: nothing to match on; trivy reports it versionless",
    omit: ["package1@"],
  },
  "javascript/trivy-nodejs-pnpm/pnpm-lock_many.yaml": { reason: trivyDropsDev, extraDev: true },
  "javascript/trivy-nodejs-pnpm/pnpm-lock_with_dev.yaml": { reason: trivyDropsDev, extraDev: true },
  "javascript/trivy-nodejs-pnpm/pnpm-lock_v6_with_dev.yaml": { reason: trivyDropsDev, extraDev: true },
  "javascript/syft-javascript/pkg-lock/array-license-package-lock.json": {
    reason: rootProject,
    omit: ["tmp@1.0.0"],
  },
  "javascript/syft-javascript/pkg-lock/nested-package-lock-1.json": { reason: syftDropsDev, extraDev: true },
  "javascript/syft-javascript/pkg-lock/package-lock.json": { reason: syftDropsDev, extraDev: true },
};

describeUpstreamFiles({
  title: "upstream JavaScript fixtures",
  ecosystems: ["javascript"],
  rules,
  outOfScope,
  deviations,
  catalogers: javascriptCatalogers,
});
