import { describeUpstreamFiles, type Deviation, type FixtureRule } from "../../testing.js";
import { normalizeName } from "./common.js";
import { pythonCatalogers } from "./index.js";

const SITE = "/usr/lib/python3.11/site-packages";
const base = (r: string) => r.slice(r.lastIndexOf("/") + 1);
/** syft reports PEP 503-normalized names; we keep the declared one (its purl is compared as well). */
const syftNames = (r: string) => r.startsWith("python/syft-python/");

/** Upstream fixtures of our formats, each presented where it would sit in an image. */
const rules: FixtureRule[] = [
  {
    format: "python installed (dist-info, egg-info)",
    match: (r) =>
      r.startsWith("python/trivy-python-packaging/") || r.startsWith("python/syft-python/site-packages/"),
    at: (r) => {
      const b = base(r);
      if (b.endsWith(".METADATA")) return `${SITE}/${b.slice(0, -9)}.dist-info/METADATA`;
      if (b.endsWith(".PKG-INFO")) return `${SITE}/${b.slice(0, -9)}.egg-info/PKG-INFO`;
      if (b === "invalid.json") return `${SITE}/invalid.dist-info/METADATA`;
      return `${SITE}/${b}`;
    },
  },
  {
    format: "requirements.txt",
    match: (r) => r.startsWith("python/trivy-python-pip/") || r.startsWith("python/syft-python/requires/"),
    at: () => "/app/requirements.txt",
  },
  {
    format: "Pipfile.lock",
    match: (r) =>
      r.startsWith("python/trivy-python-pipenv/") || r.startsWith("python/syft-python/pipfile-lock/"),
    at: () => "/app/Pipfile.lock",
  },
  {
    format: "poetry.lock",
    match: (r) => r.startsWith("python/trivy-python-poetry/") || r.startsWith("python/syft-python/poetry/"),
    at: () => "/app/poetry.lock",
  },
  {
    format: "uv.lock",
    match: (r) => r.startsWith("python/trivy-python-uv/") || r.startsWith("python/syft-python/uv/"),
    at: () => "/app/uv.lock",
  },
];

/** The comparison key for syft fixtures normalizes names on both sides. */
const withNames: FixtureRule[] = rules.flatMap((rule) => [
  { ...rule, match: (r: string) => syftNames(r) && rule.match(r), nameKey: normalizeName },
  rule,
]);

/** Formats that are not ours (listed so that a new upstream fixture is noticed). */
const outOfScope: Record<string, string> = {
  "python/syft-python/pdm-lock": "pdm.lock is not in scope",
  "python/trivy-python-pylock/": "pylock.toml is not in scope",
  "python/trivy-python-pyproject/": "pyproject.toml declares ranges, not installed versions: not in scope",
  "python/syft-python/pyenv/": "pyvenv.cfg is not a package format",
};

const rootProject =
  'the lock file\'s root project (source virtual = ".") is the application itself, not a dependency';

const strayLines = "we record lines that are not requirements as a problem; upstream skips them silently";
const relationshipsOnly = "the expectation is a dependency-relationship value, not a package list";
const notAnError =
  "trivy needs exactly one root project to build its dependency graph; an inventory does not: we report the packages";

const deviations: Record<string, Deviation> = {
  "python/syft-python/site-packages/no-version": {
    reason: "syft reports a package without a version; nothing to match on: we record a problem",
    omit: ["no-version@"],
    problems: true,
  },
  "python/trivy-python-packaging/distlib-0.3.1.METADATA": {
    reason:
      "trivy prefers license classifiers over the License field; we prefer the declared License field " +
      "(as syft does, e.g. requests' 'Apache 2.0' in site-packages/nested)",
    licenses: { "distlib@0.3.1": ["Python license"] },
  },
  "python/trivy-python-packaging/networkx-3.0.METADATA": {
    reason:
      "file://LICENSE.txt is trivy's pointer for its license-file classifier; we do not read sibling files",
    licenses: { "networkx@3.0": [] },
  },
  "python/syft-python/requires/requirements.txt": {
    reason: `${strayLines} (==2.3.4 has no name); the guess-unpinned option is not ours (pins only)`,
    problems: true,
    skipCases: ["parse_requirements_test.go: guess unpinned requirements (lowest version)"],
  },
  "python/trivy-python-pip/requirements_compatible.txt": {
    reason: "trivy's useMinVersion option guesses versions from ranges; we report exact pins only",
    skipCases: ["parse_test.go: compatible versions"],
  },
  "python/trivy-python-pip/requirements_no_version.txt": {
    reason: `${strayLines} (">=1.0.0")`,
    problems: true,
  },
  "python/trivy-python-pip/requirements_with_templating_engine.txt": { reason: strayLines, problems: true },
  "python/syft-python/pipfile-lock/Pipfile.lock": {
    reason: "syft drops the develop section; we report it flagged dev",
    extraDev: true,
  },
  "python/syft-python/poetry/case-sensitivity/poetry.lock": { reason: relationshipsOnly },
  "python/syft-python/poetry/simple-deps/poetry.lock": { reason: relationshipsOnly },
  "python/syft-python/uv/simple-deps/uv.lock": { reason: rootProject, omit: ["testpkg@0.1.0"] },
  "python/trivy-python-uv/uv_normal.lock": { reason: rootProject, omit: ["normal@0.1.0"] },
  "python/trivy-python-uv/uv_multiple_roots.lock": { reason: notAnError, packagesDespiteError: true },
  "python/trivy-python-uv/uv_without_root.lock": { reason: notAnError, packagesDespiteError: true },
};

describeUpstreamFiles({
  title: "upstream Python fixtures",
  ecosystems: ["python"],
  rules: withNames,
  outOfScope,
  deviations,
  catalogers: pythonCatalogers,
});
