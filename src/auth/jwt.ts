import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Minimal JWT (RFC 7519) with HS256 only, on node:crypto. Registry clients treat tokens as
 * opaque strings, and only this server verifies them, so a symmetric key is enough and
 * avoids a dependency. Anything but `alg: HS256` is rejected (no `none`, no algorithm
 * confusion).
 */
export interface JwtClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  [claim: string]: unknown;
}

export class JwtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JwtError";
  }
}

const HEADER = b64url(Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })));

export function signJwt(claims: JwtClaims, key: Buffer): string {
  const payload = b64url(Buffer.from(JSON.stringify(claims)));
  const input = `${HEADER}.${payload}`;
  return `${input}.${b64url(hmac(key, input))}`;
}

export interface VerifyOptions {
  issuer: string;
  audience: string;
  /** Seconds since the epoch (tests inject a clock). */
  now?: number;
  /** Tolerated clock difference between nodes sharing a key, in seconds. */
  leewaySeconds?: number;
}

/** Verifies signature, issuer, audience, exp and nbf; throws JwtError with the reason. */
export function verifyJwt(token: string, key: Buffer, opts: VerifyOptions): JwtClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("malformed token");
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  try {
    header = JSON.parse(fromB64url(h).toString("utf8"));
  } catch {
    throw new JwtError("malformed token header");
  }
  if (typeof header !== "object" || header === null || (header as { alg?: unknown }).alg !== "HS256") {
    throw new JwtError("unsupported token algorithm");
  }
  const expected = hmac(key, `${h}.${p}`);
  const given = fromB64url(s);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new JwtError("bad token signature");
  }
  let claims: JwtClaims;
  try {
    claims = JSON.parse(fromB64url(p).toString("utf8")) as JwtClaims;
  } catch {
    throw new JwtError("malformed token payload");
  }
  if (typeof claims !== "object" || claims === null) throw new JwtError("malformed token payload");
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const leeway = opts.leewaySeconds ?? 0;
  if (typeof claims.exp !== "number" || claims.exp + leeway <= now) throw new JwtError("token expired");
  if (typeof claims.nbf === "number" && claims.nbf - leeway > now) throw new JwtError("token not yet valid");
  if (claims.iss !== opts.issuer) throw new JwtError("token issuer mismatch");
  const aud = claims.aud as unknown;
  const audOk = Array.isArray(aud) ? aud.includes(opts.audience) : aud === opts.audience;
  if (!audOk) throw new JwtError("token audience mismatch");
  if (typeof claims.sub !== "string") throw new JwtError("token has no subject");
  return claims;
}

function hmac(key: Buffer, input: string): Buffer {
  return createHmac("sha256", key).update(input).digest();
}

function b64url(b: Buffer): string {
  return b.toString("base64url");
}

function fromB64url(s: string): Buffer {
  // Node's decoder silently skips invalid characters; reject them so a token has one spelling.
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new JwtError("malformed token encoding");
  return Buffer.from(s, "base64url");
}
