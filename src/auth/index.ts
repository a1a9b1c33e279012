import type { FastifyInstance } from "fastify";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../core/errors.js";
import { CredentialAuthorizer } from "./authorizer.js";
import { AWS_LOGIN_USER, AwsLoginTokens } from "./aws-login.js";
import { CredentialChecker } from "./credentials.js";
import { AccessRules } from "./rules.js";
import { loadTokenKey } from "./secret.js";
import { registerTokenRoutes } from "./token-route.js";
import { TokenIssuer } from "./tokens.js";
import { openAuthorizer, type Authorizer } from "./types.js";

export interface AuthSetup {
  authorizer: Authorizer;
  /** Registers the token endpoint (Docker token flow) when credentials are configured. */
  routes?: (app: FastifyInstance) => void;
  /** Mints the passwords of ECR's GetAuthorizationToken, which the registry accepts for user AWS. */
  loginTokens: AwsLoginTokens;
  /** The configured users (undefined when there are none): the console's sign-in checks them. */
  users?: { checker: CredentialChecker; rulesFor(username: string): AccessRules };
  /** The token key, read when users are configured (the console's sessions are signed with it too). */
  tokenKey?: Buffer;
}

/**
 * Builds access control from the configuration: open when no users are configured (main
 * allows that on loopback only), else Basic and Bearer tokens checked against per-user
 * rules, with the token endpoint at /token. See docs/access.md.
 */
export async function createAuth(config: Config, dataDir: string): Promise<AuthSetup> {
  const users = config.auth.users;
  const loginTtl = config.aws.loginTokenTtlSeconds;
  if (users.length === 0)
    return { authorizer: openAuthorizer, loginTokens: new AwsLoginTokens({ ttlSeconds: loginTtl }) };

  const seen = new Set<string>();
  for (const u of users) {
    // Basic credentials split at the first colon, so a username cannot contain one.
    if (u.username.includes(":")) throw new ConfigError(`auth.users: username ${u.username} contains ":"`);
    if (u.username === AWS_LOGIN_USER)
      throw new ConfigError(
        `auth.users: username ${AWS_LOGIN_USER} is reserved for ECR logins (docs/ecr-api.md)`,
      );
    if (seen.has(u.username)) throw new ConfigError(`auth.users: username ${u.username} appears twice`);
    seen.add(u.username);
  }
  const rules = new Map(users.map((u) => [u.username, new AccessRules(u.access, u.username)]));
  const none = new AccessRules([]);
  const rulesFor = (username: string) => rules.get(username) ?? none;

  const tokenKey = await loadTokenKey(config.auth.tokenSecret, dataDir);
  const loginTokens = new AwsLoginTokens({ tokenKey, ttlSeconds: loginTtl });
  const checker = new CredentialChecker(users, { loginTokens });
  const tokens = new TokenIssuer({
    key: tokenKey,
    service: config.auth.service,
    ttlSeconds: config.auth.tokenTtlSeconds,
  });
  const authorizer = new CredentialAuthorizer({
    checker,
    rules: rulesFor,
    tokens,
    service: config.auth.service,
    publicUrl: config.publicUrl,
    fallbackHost: config.listen,
  });
  return {
    authorizer,
    loginTokens,
    users: { checker, rulesFor },
    tokenKey,
    routes: (app) =>
      registerTokenRoutes(app, { checker, rules: rulesFor, tokens, service: config.auth.service }),
  };
}
