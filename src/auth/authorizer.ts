import { RegistryError } from "../core/errors.js";
import { bearerChallenge, tokenRealm } from "./challenge.js";
import { parseBasic, type CredentialChecker } from "./credentials.js";
import { JwtError } from "./jwt.js";
import type { AccessRules } from "./rules.js";
import { covers } from "./scope.js";
import type { TokenIssuer } from "./tokens.js";
import type { AccessRequest, Authorizer, Principal, RequestContext } from "./types.js";

export interface CredentialAuthorizerOptions {
  checker: CredentialChecker;
  rules: (username: string) => AccessRules;
  tokens: TokenIssuer;
  service: string;
  publicUrl?: string;
  /** Host for the realm when a request has no Host header (HTTP/1.0): the listen address. */
  fallbackHost: string;
}

const DENIED = "requested access to the resource is denied";

/**
 * Access control when users are configured. Accepts `Authorization: Basic` (skopeo
 * --creds, curl -u) and `Authorization: Bearer` tokens from the token endpoint; anything
 * else gets 401 with the Bearer challenge that starts the Docker token flow.
 *
 * Valid credentials that the rules do not allow get 403 DENIED. A valid token that lacks
 * access the user's rules would grant gets 401 `insufficient_scope` instead, as
 * Distribution does, so that the client fetches a new token with the scope in the challenge.
 */
export class CredentialAuthorizer implements Authorizer {
  readonly open = false;

  constructor(private readonly opts: CredentialAuthorizerOptions) {}

  async authorize(
    authorization: string | undefined,
    access: AccessRequest[],
    ctx: RequestContext,
  ): Promise<Principal> {
    const realm = tokenRealm(this.opts.publicUrl, ctx.host || this.opts.fallbackHost, ctx.protocol);
    const unauthorized = (message: string, error?: "invalid_token" | "insufficient_scope") => {
      const e = new RegistryError("UNAUTHORIZED", message);
      e.headers = {
        "WWW-Authenticate": bearerChallenge({ realm, service: this.opts.service, access, error }),
      };
      return e;
    };

    const header = authorization?.trim();
    if (!header) throw unauthorized("authentication required");

    if (/^basic\s/i.test(header)) {
      const creds = parseBasic(header);
      if (!creds) throw unauthorized("malformed Basic credentials");
      const user = await this.opts.checker.check(creds.username, creds.password);
      if (!user) throw unauthorized("invalid username or password");
      if (!this.allowedByRules(user.username, access)) throw new RegistryError("DENIED", DENIED);
      return { username: user.username };
    }

    const bearer = /^bearer\s+(\S+)$/i.exec(header);
    if (!bearer) throw unauthorized("unsupported authorization scheme");
    let token;
    try {
      token = this.opts.tokens.verify(bearer[1]!);
    } catch (e) {
      if (e instanceof JwtError) throw unauthorized(`invalid token: ${e.message}`, "invalid_token");
      throw e;
    }
    // A token outlives neither its user nor a narrowing of the user's rules (after a restart
    // with the same key): the grant is re-checked against the current configuration.
    if (!this.opts.checker.user(token.username)) throw unauthorized("unknown token subject", "invalid_token");
    const allowed = this.allowedByRules(token.username, access);
    if (!allowed) throw new RegistryError("DENIED", DENIED);
    if (!covers(token.access, access)) throw unauthorized("insufficient scope", "insufficient_scope");
    return { username: token.username };
  }

  private allowedByRules(username: string, access: AccessRequest[]): boolean {
    return covers(this.opts.rules(username).grant(access), access);
  }
}
