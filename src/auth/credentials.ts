import { createHmac, randomBytes } from "node:crypto";
import type { UserConfig } from "../config/schema.js";
import { AWS_LOGIN_USER, type AwsLoginTokens } from "./aws-login.js";
import { verifyPassword } from "./password.js";

/** `Authorization: Basic base64(user:password)` → its parts, or null when malformed. */
export function parseBasic(header: string): { username: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * A valid bcrypt hash (cost 10) of a random string nobody knows: unknown users are checked
 * against it so that a wrong username takes as long as a wrong password (no user probing).
 */
const DUMMY_HASH = "$2b$10$cqD8d9IdaE0BB.Wwst6dEeBXVhW2zUQBLdVLZF9/GvPKvDthv4xQu";

export interface CredentialCheckerOptions {
  /** How long a successful check is remembered. */
  cacheTtlMs?: number;
  /** Upper bound of remembered credentials (oldest dropped first). */
  cacheMax?: number;
  now?: () => number;
  /**
   * ECR login passwords (GetAuthorizationToken): user `AWS` with such a password acts as the
   * auth user named in it (src/auth/aws-login.ts).
   */
  loginTokens?: Pick<AwsLoginTokens, "verify">;
}

/**
 * Checks username/password against the configured bcrypt hashes. bcrypt is slow on
 * purpose (~70 ms at cost 10), and clients using Basic on every request (skopeo --creds,
 * curl -u) send hundreds of requests per push, so successes are remembered briefly. The
 * cache key is an HMAC of the credentials under a per-process random key: neither the
 * password nor a fast unsalted hash of it is kept. Failures are never cached.
 */
export class CredentialChecker {
  private readonly users: Map<string, UserConfig>;
  private readonly cache = new Map<string, { username: string; expires: number }>();
  private readonly cacheKey = randomBytes(32);
  private readonly ttl: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(users: readonly UserConfig[], opts: CredentialCheckerOptions = {}) {
    this.users = new Map(users.map((u) => [u.username, u]));
    this.ttl = opts.cacheTtlMs ?? 60_000;
    this.max = opts.cacheMax ?? 1000;
    this.now = opts.now ?? Date.now;
    this.loginTokens = opts.loginTokens;
  }

  private readonly loginTokens?: Pick<AwsLoginTokens, "verify">;

  user(username: string): UserConfig | undefined {
    return this.users.get(username);
  }

  /** The user when the password is right, else null. */
  async check(username: string, password: string): Promise<UserConfig | null> {
    if (username === AWS_LOGIN_USER && this.loginTokens) {
      // Checked before bcrypt: an HMAC check is cheap, and `AWS` is not a configurable user.
      const subject = this.loginTokens.verify(password);
      return subject === null ? null : (this.users.get(subject) ?? null);
    }
    const key = createHmac("sha256", this.cacheKey)
      .update(username)
      .update("\0")
      .update(password)
      .digest("hex");
    const hit = this.cache.get(key);
    const now = this.now();
    if (hit && hit.expires > now) return this.users.get(hit.username) ?? null;
    if (hit) this.cache.delete(key);
    const user = this.users.get(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!ok || !user) return null;
    if (this.cache.size >= this.max) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { username, expires: now + this.ttl });
    return user;
  }
}
