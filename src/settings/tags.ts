/** Tag-mutability rules (ECR's): `*` in an exclusion filter matches any characters, the rest itself. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${re}$`).test(value);
}

/** Whether a tag may not be moved to another image under a repository's mutability setting. */
export function isImmutableTag(
  mutability: string,
  exclusions: readonly { filter: string }[] | null,
  tag: string,
): boolean {
  const excluded = (exclusions ?? []).some((f) => wildcardMatch(f.filter, tag));
  if (mutability === "IMMUTABLE") return true;
  if (mutability === "IMMUTABLE_WITH_EXCLUSION") return !excluded;
  if (mutability === "MUTABLE_WITH_EXCLUSION") return excluded;
  return false;
}
