/**
 * Container image references as users write them (a Pod spec's `image`, `drydock scan`'s
 * registry references; the distribution/reference grammar):
 * `[host[:port]/]path[:tag][@algorithm:hex]`. The first component is a host when it contains
 * `.` or `:` or is `localhost` (else the reference is Docker Hub's: `docker.io`, with
 * `library/` before a one-component path). Untrusted input: anything that does not fit is null.
 */
export interface ImageReference {
  /** Lowercased host with port as written (`registry.example.com:5000`), `docker.io` when none. */
  host: string;
  /** The repository path (`team/app`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

export function parseImageReference(ref: string): ImageReference | null {
  if (typeof ref !== "string" || ref.length === 0 || ref.length > 4096) return null;
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return null;
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return null;
  }
  const parts = rest.split("/");
  let host = "docker.io";
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    if (!HOST.test(first)) return null;
    host = first.toLowerCase();
    parts.shift();
  }
  if (!parts.length || !parts.every((p) => COMPONENT.test(p))) return null;
  if (host === "docker.io" && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (repository.length > 255) return null;
  return {
    host,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** `host:443` and `host` name the same registry; hosts compare case-insensitively. */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  return h.endsWith(":443") ? h.slice(0, -4) : h;
}
