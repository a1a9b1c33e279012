import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { AccessRules } from "../../auth/rules.js";
import type { CredentialChecker } from "../../auth/credentials.js";
import { AwsPrincipal } from "../access.js";
import { ConsoleError } from "./router.js";

/**
 * Console sessions: a signed, HTTP-only cookie naming the user and its expiry, and a CSRF
 * token derived from it.
 *
 * The cookie is `v1.<base64url JSON {u, e, n}>.<base64url HMAC-SHA256>` under the token key
 * (auth.tokenSecret, or DATA/token.key: the same on every node of a cluster), so any node
 * accepts a session another node issued and nothing is stored per session. The user is looked
 * up again on every request: a user removed from the configuration is signed out at once, and
 * a change of their access rules applies at once. Signing out clears the cookie; a copied
 * cookie stays valid until it expires (SESSION_TTL_MS), as with the registry's bearer tokens.
 *
 * CSRF: every state-changing request must carry `X-CSRF-Token`, an HMAC of the session cookie
 * that only a page of this origin can read (GET /api/console/session). The cookie is also
 * `SameSite=Strict`. A custom header forces a CORS preflight, which the server never grants.
 */

export const SESSION_COOKIE = "drydock_session";
export const CSRF_HEADER = "x-csrf-token";
/** How long a sign-in lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface ConsoleSession {
  /** The caller's permissions. */
  principal: AwsPrincipal;
  /** The signed-in user; null on an open console (no users configured: loopback only). */
  user: string | null;
  /** The value the client must send in X-CSRF-Token on changes. */
  csrfToken: string;
}

export interface SessionOptions {
  key: Buffer;
  accountId: string;
  /** Configured users; undefined when none are (an open console on loopback). */
  users?: { checker: CredentialChecker; rulesFor(username: string): AccessRules };
  now?: () => number;
}

export class ConsoleSessions {
  private readonly now: () => number;
  constructor(private readonly o: SessionOptions) {
    this.now = o.now ?? Date.now;
  }

  /** True when no users are configured: every caller is unrestricted and no sign-in is asked. */
  get open(): boolean {
    return this.o.users === undefined;
  }

  /** Checks a username and password: the cookie value of a new session, or a 401. */
  async signIn(username: string, password: string): Promise<string> {
    const users = this.o.users;
    if (!users) throw new ConsoleError(400, "BadParameter", "this console is open: there is no sign-in");
    const user = await users.checker.check(username, password);
    if (!user) throw new ConsoleError(401, "Unauthenticated", "wrong username or password");
    const payload = Buffer.from(
      JSON.stringify({
        u: user.username,
        e: this.now() + SESSION_TTL_MS,
        n: randomBytes(9).toString("base64url"),
      }),
    ).toString("base64url");
    return `v1.${payload}.${this.mac(`v1.${payload}`)}`;
  }

  /** The session of a request's cookie; null when there is none or it is invalid or expired. */
  resolve(cookie: string | undefined): ConsoleSession | null {
    const users = this.o.users;
    if (!users) {
      return {
        principal: AwsPrincipal.unrestricted(this.o.accountId, undefined, "console"),
        user: null,
        csrfToken: this.mac("csrf\0open"),
      };
    }
    if (!cookie) return null;
    const parts = cookie.split(".");
    if (parts.length !== 3 || parts[0] !== "v1") return null;
    const expected = Buffer.from(this.mac(`v1.${parts[1]}`));
    const given = Buffer.from(parts[2]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let claims: { u?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as typeof claims;
    } catch {
      return null;
    }
    if (typeof claims.u !== "string" || typeof claims.e !== "number" || claims.e <= this.now()) return null;
    if (!users.checker.user(claims.u)) return null; // removed from the configuration since
    return {
      principal: AwsPrincipal.user(this.o.accountId, claims.u, users.rulesFor(claims.u)),
      user: claims.u,
      csrfToken: this.mac(`csrf\0${cookie}`),
    };
  }

  /** Whether `token` is the session's CSRF token (constant time). */
  csrfValid(session: ConsoleSession, token: string | undefined): boolean {
    if (!token) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private mac(text: string): string {
    return createHmac("sha256", this.o.key).update("drydock-console\0").update(text).digest("base64url");
  }
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value of a session (or of its removal when `value` is empty). */
export function sessionCookie(value: string, secure: boolean): string {
  const attrs = [`${SESSION_COOKIE}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict"];
  if (secure) attrs.push("Secure");
  attrs.push(value ? `Max-Age=${SESSION_TTL_MS / 1000}` : "Max-Age=0");
  return attrs.join("; ");
}
