/**
 * Repository name and tag grammar of the OCI Distribution Spec v1.1 ("Pulling manifests").
 * Names: path components of lowercase alphanumerics separated by `.`, `_`, `__` or dashes,
 * joined by `/`. Clients reject names over 255 characters including the host; we cap the
 * name itself at 255.
 */
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isValidName(name: string): boolean {
  return name.length <= 255 && NAME.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
