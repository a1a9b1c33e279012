/**
 * Version schemes: one per ecosystem, behind one interface, listed in ./registry.ts.
 * Each is checked against the upstream vectors in ../shared/testdata/versions in both
 * directions. `compare` must be a total order on valid versions (antisymmetric, transitive)
 * and must not throw on invalid input: invalid versions are compared as the upstream
 * tool does where it has a rule, else after all valid ones, lexically.
 */
export type Comparison = -1 | 0 | 1;

export interface VersionScheme {
  /** deb, rpm, apk, semver (npm), pep440, maven, go, gem, nuget, composer, cargo */
  readonly id: string;
  isValid(version: string): boolean;
  compare(a: string, b: string): Comparison;
  /**
   * Whether `version` satisfies a range written in the ecosystem's own syntax (npm ranges,
   * PEP 440 specifiers, Maven ranges, RubyGems requirements, NuGet ranges, Composer
   * constraints, Cargo requirements). Absent for schemes without a range syntax (deb, rpm,
   * apk, go). Throws VersionRangeError on a range it cannot parse.
   */
  satisfies?(version: string, range: string): boolean;
}

export class VersionRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VersionRangeError";
  }
}
