import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The username ECR's `docker login` uses with a GetAuthorizationToken password. */
export const AWS_LOGIN_USER = "AWS";

/**
 * Registry passwords minted by ECR's GetAuthorizationToken (`aws ecr get-login-password`).
 * A password is `dd1.<payload>.<mac>` (base64url, so never a ":" — the AWS CLI splits the
 * token at ":"), the payload names the auth user whose access rules apply and the expiry,
 * the MAC is an HMAC-SHA256 under a key derived from the registry's token key. Nothing is
 * stored: any node sharing `auth.tokenSecret` accepts it until it expires.
 */
export class AwsLoginTokens {
  private readonly key: Buffer;
  private readonly now: () => number;

  constructor(opts: { tokenKey?: Buffer; ttlSeconds: number; now?: () => number }) {
    // A derived key: a login password must never verify as a bearer token, nor the reverse.
    this.key = createHmac("sha256", opts.tokenKey ?? randomBytes(32))
      .update("drydock ecr login password")
      .digest();
    this.ttl = opts.ttlSeconds;
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  private readonly ttl: number;

  /** A password for `subject` (an auth user name, "" on an open registry) and its expiry (epoch s). */
  mint(subject: string): { password: string; expiresAt: number } {
    const expiresAt = this.now() + this.ttl;
    const payload = Buffer.from(JSON.stringify({ s: subject, e: expiresAt })).toString("base64url");
    return { password: `dd1.${payload}.${this.mac(payload)}`, expiresAt };
  }

  /** The subject of a valid, unexpired password, else null. */
  verify(password: string): string | null {
    const m = /^dd1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(password);
    if (!m) return null;
    const want = Buffer.from(this.mac(m[1]!));
    const got = Buffer.from(m[2]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    try {
      const p = JSON.parse(Buffer.from(m[1]!, "base64url").toString("utf8")) as { s?: unknown; e?: unknown };
      if (typeof p.s !== "string" || typeof p.e !== "number" || p.e <= this.now()) return null;
      return p.s;
    } catch {
      return null;
    }
  }

  private mac(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}
