import { RegistryError } from "../core/errors.js";
import { bearerChallenge, tokenRealm } from "./challenge.js";
import { parseBasic, type CredentialChecker } from "./credentials.js";
import { JwtError } from "./jwt.js";
import type { AccessRules } from "./rules.js";
import { covers, formatScope } from "./scope.js";
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

/**
 * 403 DENIED naming the scope that is not allowed. The message must differ from the spec's
 * default text: dockerd turns an error whose message equals the default into a bare code,
 * which its push loop does not recognise as final and retries for a minute.
 */
function denied(granted: AccessRequest[], access: AccessRequest[]): RegistryError {
  const missing = access.flatMap((r) => {
    const actions = r.actions.filter((a) => !covers(granted, [{ ...r, actions: [a] }]));
    return actions.length ? [formatScope({ ...r, actions })] : [];
  });
  return new RegistryError("DENIED", `requested access to the resource is denied: ${missing.join(" ")}`);
}

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
      const granted = this.opts.rules(user.username).grant(access);
      if (!covers(granted, access)) throw denied(granted, access);
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
    const granted = this.opts.rules(token.username).grant(access);
    if (!covers(granted, access)) throw denied(granted, access);
    if (!covers(token.access, access)) throw unauthorized("insufficient scope", "insufficient_scope");
    return { username: token.username };
  }
}
