import { randomUUID } from "node:crypto";
import { signJwt, verifyJwt } from "./jwt.js";
import type { AccessRequest } from "./types.js";

/** The JSON body of a token response (Docker token spec, both field names for old clients). */
export interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

export interface VerifiedToken {
  username: string;
  access: AccessRequest[];
}

/**
 * Issues and verifies the short-lived bearer tokens of the Docker token flow. `iss` and
 * `aud` are both the configured service name: the registry and its token endpoint are the
 * same process (or nodes sharing `auth.tokenSecret`).
 */
export class TokenIssuer {
  constructor(
    private readonly opts: {
      key: Buffer;
      service: string;
      ttlSeconds: number;
      /** Seconds since the epoch (tests inject a clock). */
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now ? this.opts.now() : Math.floor(Date.now() / 1000);
  }

  issue(username: string, access: AccessRequest[]): TokenResponse {
    const iat = this.now();
    const token = signJwt(
      {
        iss: this.opts.service,
        sub: username,
        aud: this.opts.service,
        exp: iat + this.opts.ttlSeconds,
        nbf: iat,
        iat,
        jti: randomUUID(),
        access,
      },
      this.opts.key,
    );
    return {
      token,
      access_token: token,
      expires_in: this.opts.ttlSeconds,
      issued_at: new Date(iat * 1000).toISOString(),
    };
  }

  /** Throws JwtError when the token is not ours, expired or malformed. */
  verify(token: string): VerifiedToken {
    const claims = verifyJwt(token, this.opts.key, {
      issuer: this.opts.service,
      audience: this.opts.service,
      now: this.now(),
      // Several nodes sharing a key may disagree on the time by a few seconds.
      leewaySeconds: 10,
    });
    return { username: claims.sub, access: accessClaim(claims.access) };
  }
}

/** The `access` claim, keeping only well-formed entries (never trusting its shape). */
function accessClaim(v: unknown): AccessRequest[] {
  if (!Array.isArray(v)) return [];
  const out: AccessRequest[] = [];
  for (const e of v as unknown[]) {
    if (typeof e !== "object" || e === null) continue;
    const { type, name, actions } = e as Record<string, unknown>;
    if ((type !== "repository" && type !== "registry") || typeof name !== "string") continue;
    if (!Array.isArray(actions) || !actions.every((a) => typeof a === "string")) continue;
    out.push({ type, name, actions: actions as string[] });
  }
  return out;
}
