import { createHash, createHmac } from "node:crypto";

/**
 * Presigned object GETs (SigV4 in the query string) without the SDK's middleware stack.
 *
 * Why: a pull with `storage.blobs.redirect` answers every blob GET with a freshly presigned
 * URL, and a streamed GET presigns the URL it reads; the SDK's `getSignedUrl` takes 0.7–0.8 ms
 * a call (p90 2 ms: promises and objects per middleware), about a third of a redirect's time
 * (docs/benchmarks.md, "Cluster"). Here it is a few HMACs, the signing key kept per day.
 *
 * The URL's shape is not rebuilt from rules of our own: a template is taken from one URL the
 * SDK presigned for the same client (`templateFrom`), its origin, the path before the key
 * and the query parameters the SDK adds besides the signature's (`x-id`, a checksum mode), so
 * virtual-hosted and path-style addressing, the endpoint and the region stay the SDK's. A
 * test compares this presigner's URLs with the SDK's for the same instant.
 */

export interface PresignTemplate {
  /** `scheme://host[:port]` of the object URLs. */
  origin: string;
  /** The `Host` signed: the origin's host with its port when not the default. */
  host: string;
  /** The encoded path before the object key (`/bucket/` path-style, `/` virtual-hosted). */
  pathPrefix: string;
  region: string;
  /** Query parameters of the SDK's URL that are not part of the signature's (`x-id=GetObject`, ...). */
  extra: [string, string][];
}

export interface PresignCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The query parameters this presigner writes itself. */
const SIGNATURE_PARAMETERS = new Set([
  "X-Amz-Algorithm",
  "X-Amz-Content-Sha256",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-Security-Token",
  "X-Amz-Signature",
  "X-Amz-SignedHeaders",
]);

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** An S3 object key as a URI path: every segment encoded, the slashes kept. */
export const encodeKey = (key: string) => key.split("/").map(rfc3986).join("/");

/**
 * The template of a URL the SDK presigned for `sampleKey` (any key of the same bucket).
 * Returns null when the URL is not of the expected shape (the caller keeps using the SDK).
 * The signing region is read from the URL's credential scope.
 */
export function templateFrom(sdkUrl: string, sampleKey: string): PresignTemplate | null {
  const url = new URL(sdkUrl);
  const encoded = encodeKey(sampleKey);
  // The signing region as the SDK chose it: AKID/yyyymmdd/<region>/s3/aws4_request.
  const scope = (url.searchParams.get("X-Amz-Credential") ?? "").split("/");
  if (
    !url.pathname.endsWith(encoded) ||
    url.searchParams.get("X-Amz-SignedHeaders") !== "host" ||
    url.searchParams.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256" ||
    scope.length !== 5 ||
    scope[3] !== "s3"
  )
    return null;
  const extra: [string, string][] = [];
  for (const [k, v] of url.searchParams) if (!SIGNATURE_PARAMETERS.has(k)) extra.push([k, v]);
  return {
    origin: url.origin,
    host: url.host,
    pathPrefix: url.pathname.slice(0, url.pathname.length - encoded.length),
    region: scope[2]!,
    extra,
  };
}

const sha256hex = (s: string) => createHash("sha256").update(s).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

/** The last signing key made (one a day per secret and region is all a server needs). */
let signingKeyCache: { secret: string; day: string; region: string; key: Buffer } | null = null;

function signingKey(secret: string, day: string, region: string): Buffer {
  const c = signingKeyCache;
  if (c && c.secret === secret && c.day === day && c.region === region) return c.key;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), "s3"), "aws4_request");
  signingKeyCache = { secret, day, region, key };
  return key;
}

/** A presigned GET of `key`, valid `expiresIn` seconds from `now`. */
export function presignGet(
  t: PresignTemplate,
  key: string,
  credentials: PresignCredentials,
  expiresIn: number,
  now: Date,
): string {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${t.region}/s3/aws4_request`;
  const params: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"],
    ["X-Amz-Credential", `${credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", amzDate],
    ["X-Amz-Expires", String(expiresIn)],
    ...(credentials.sessionToken
      ? ([["X-Amz-Security-Token", credentials.sessionToken]] as [string, string][])
      : []),
    ["X-Amz-SignedHeaders", "host"],
    ...t.extra,
  ];
  // Sorted by encoded name (then value), as the canonical query string is.
  const query = params
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const path = t.pathPrefix + encodeKey(key);
  const canonical = `GET\n${path}\n${query}\nhost:${t.host}\n\nhost\nUNSIGNED-PAYLOAD`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256hex(canonical)}`;
  const signature = createHmac("sha256", signingKey(credentials.secretAccessKey, day, t.region))
    .update(toSign)
    .digest("hex");
  return `${t.origin}${path}?${query}&X-Amz-Signature=${signature}`;
}
