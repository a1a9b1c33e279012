import { formatScope, mergeAccess } from "./scope.js";
import type { AccessRequest } from "./types.js";

/**
 * The `WWW-Authenticate: Bearer` challenge of the Docker token flow
 * (https://distribution.github.io/distribution/spec/auth/token/): where to get a token
 * (realm), for which service, and the scope the request needs, space-separated when there
 * are several. `error` follows RFC 6750 (`invalid_token`, `insufficient_scope`).
 */
export function bearerChallenge(opts: {
  realm: string;
  service: string;
  access?: readonly AccessRequest[];
  error?: "invalid_token" | "insufficient_scope";
}): string {
  const params = [`realm=${quote(opts.realm)}`, `service=${quote(opts.service)}`];
  const access = mergeAccess(opts.access ?? []);
  if (access.length) params.push(`scope=${quote(access.map(formatScope).join(" "))}`);
  if (opts.error) params.push(`error=${quote(opts.error)}`);
  return `Bearer ${params.join(",")}`;
}

/** The token realm: the public URL when configured (behind a proxy), else the request's own origin. */
export function tokenRealm(publicUrl: string | undefined, host: string, protocol: "http" | "https"): string {
  const base = publicUrl ? publicUrl.replace(/\/+$/, "") : `${protocol}://${host}`;
  return `${base}/token`;
}

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, "\\$&")}"`;
}
