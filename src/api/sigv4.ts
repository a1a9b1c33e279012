import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * AWS Signature Version 4 verification for the AWS-compatible APIs (header-signed requests,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). We recompute
 * the signature from the request as received: canonical request → string to sign → key
 * derived from the secret, date, region and service. The region of the credential scope is
 * accepted as sent (clients pass `--region` freely; the ARNs we return use the configured
 * region), the service must be ours, and the request time must be within 15 minutes.
 */

export const ALGORITHM = "AWS4-HMAC-SHA256";
/** AWS refuses requests whose time is further than this from its clock. */
export const MAX_SKEW_MS = 15 * 60_000;

export interface SigV4Request {
  method: string;
  /** The request target as on the wire: path and optional `?query`. */
  url: string;
  /** Node's `rawHeaders`: name, value, name, value, … (repeated names kept). */
  rawHeaders: readonly string[];
  body: Buffer;
}

export interface VerifyOptions {
  /** The SigV4 service name (`ecr`, `events`, `inspector2`). */
  service: string;
  /** The secret of an access key id, or undefined when the key is unknown. */
  secretFor(accessKeyId: string): string | undefined;
  /** Epoch milliseconds. */
  now?: () => number;
}

/** The AWS error names of the authentication failures of JSON protocols. */
export type SigV4ErrorCode =
  | "MissingAuthenticationTokenException"
  | "IncompleteSignatureException"
  | "UnrecognizedClientException"
  | "InvalidSignatureException";

export type VerifyResult =
  { ok: true; accessKeyId: string; region: string } | { ok: false; code: SigV4ErrorCode; message: string };

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const sha256Hex = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

/** RFC 3986 unreserved characters stay; everything else is %XX (upper-case hex), as SigV4 requires. */
export function uriEncode(s: string, keepSlash = false): string {
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, "%20"));
  } catch {
    return s;
  }
}

/**
 * Canonical URI for services other than S3: dot segments and empty segments removed, then
 * each segment encoded once more (the wire path is already encoded: AWS encodes twice).
 */
export function canonicalUri(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  const trailing = path.length > 1 && path.endsWith("/") && out.length > 0 ? "/" : "";
  return "/" + out.map((s) => uriEncode(s)).join("/") + trailing;
}

/** Query parameters decoded, re-encoded, sorted by name then value. */
export function canonicalQuery(query: string): string {
  if (!query) return "";
  const pairs = query
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const eq = p.indexOf("=");
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? "" : p.slice(eq + 1);
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const;
    })
    .filter(([k]) => k !== "X-Amz-Signature");
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** Values of a header (case-insensitive), trimmed, inner runs of spaces collapsed, joined with ",". */
function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!.trim().replace(/\s+/g, " "));
  }
  return values.length ? values.join(",") : undefined;
}

export function canonicalRequest(req: SigV4Request, signedHeaders: string[], payloadHash: string): string {
  const q = req.url.indexOf("?");
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? "" : req.url.slice(q + 1);
  const headers = signedHeaders.map((h) => `${h}:${headerValue(req.rawHeaders, h) ?? ""}\n`).join("");
  return [
    req.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    headers,
    signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join("\n");
}

/** The signature of a request (what a client computes; used by the verifier and the tests). */
export function computeSignature(
  req: SigV4Request,
  p: Omit<ParsedAuthorization, "signature" | "accessKeyId">,
  secret: string,
  amzDate: string,
): string {
  const scope = `${p.date}/${p.region}/${p.service}/aws4_request`;
  const canonical = canonicalRequest(req, p.signedHeaders, sha256Hex(req.body));
  return createHmac("sha256", signingKey(secret, p.date, p.region, p.service))
    .update(stringToSign(amzDate, scope, canonical))
    .digest("hex");
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, or explains what is wrong. */
export function parseAuthorization(header: string): ParsedAuthorization | string {
  const sp = header.indexOf(" ");
  if (sp < 0 || header.slice(0, sp) !== ALGORITHM) return `Authorization header must use ${ALGORITHM}`;
  const fields = new Map<string, string>();
  for (const part of header.slice(sp + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const f of ["Credential", "SignedHeaders", "Signature"]) {
    if (!fields.get(f)) return `Authorization header requires '${f}' parameter.`;
  }
  const cred = fields.get("Credential")!.split("/");
  if (cred.length !== 5 || cred[4] !== "aws4_request" || !/^\d{8}$/.test(cred[1]!)) {
    return "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term";
  }
  return {
    accessKeyId: cred[0]!,
    date: cred[1]!,
    region: cred[2]!,
    service: cred[3]!,
    signedHeaders: fields.get("SignedHeaders")!.split(";"),
    signature: fields.get("Signature")!,
  };
}

/** `20150830T123600Z` → epoch ms, or NaN. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** Verifies a header-signed request. Never throws; failures carry AWS's error names and texts. */
export function verifySigV4(req: SigV4Request, opts: VerifyOptions): VerifyResult {
  const fail = (code: SigV4ErrorCode, message: string): VerifyResult => ({ ok: false, code, message });
  const header = headerValue(req.rawHeaders, "authorization");
  if (!header) return fail("MissingAuthenticationTokenException", "Missing Authentication Token");
  const p = parseAuthorization(header);
  if (typeof p === "string") return fail("IncompleteSignatureException", p);

  const amzDate = headerValue(req.rawHeaders, "x-amz-date");
  const when = amzDate ? parseAmzDate(amzDate) : NaN;
  if (!amzDate || Number.isNaN(when)) {
    return fail(
      "IncompleteSignatureException",
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  if (!p.signedHeaders.includes("host")) {
    return fail(
      "InvalidSignatureException",
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  const secret = opts.secretFor(p.accessKeyId);
  if (secret === undefined) {
    return fail("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  if (p.service !== opts.service) {
    return fail(
      "InvalidSignatureException",
      `Credential should be scoped to correct service: '${opts.service}'.`,
    );
  }
  if (p.date !== amzDate.slice(0, 8)) {
    return fail(
      "InvalidSignatureException",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${p.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  const now = (opts.now ?? Date.now)();
  if (Math.abs(now - when) > MAX_SKEW_MS) {
    const bound = formatAmzDate(when < now ? now - MAX_SKEW_MS : now + MAX_SKEW_MS);
    const rel = when < now ? "earlier" : "later";
    const sign = when < now ? "-" : "+";
    return fail(
      "InvalidSignatureException",
      `Signature expired: ${amzDate} is now ${rel} than ${bound} (${formatAmzDate(now)} ${sign} 15 min.)`,
    );
  }
  // A client that sends the payload hash must have hashed the body we received.
  const declared = headerValue(req.rawHeaders, "x-amz-content-sha256");
  const actual = sha256Hex(req.body);
  if (declared !== undefined && declared !== "UNSIGNED-PAYLOAD" && declared !== actual) {
    return fail(
      "InvalidSignatureException",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const want = Buffer.from(computeSignature(req, p, secret, amzDate));
  const got = Buffer.from(p.signature);
  if (want.length !== got.length || !timingSafeEqual(want, got)) {
    return fail(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
  return { ok: true, accessKeyId: p.accessKeyId, region: p.region };
}
