import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { IncomingMessage } from "node:http";
import type { UserConfig } from "../config/schema.js";
import { RegistryError } from "../core/errors.js";
import { parseBasic, type CredentialChecker } from "./credentials.js";
import type { AccessRules } from "./rules.js";
import { formatScope, parseScopes } from "./scope.js";
import type { TokenIssuer } from "./tokens.js";

export interface TokenRouteOptions {
  checker: CredentialChecker;
  rules: (username: string) => AccessRules;
  tokens: TokenIssuer;
  service: string;
}

/** Form bodies are a few hundred bytes; anything near this is not a token request. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * The token endpoint of the Docker token flow:
 * - `GET /token?service=S&scope=...&scope=...[&account=U]` with `Authorization: Basic`
 *   (https://distribution.github.io/distribution/spec/auth/token/), used by docker, podman,
 *   skopeo and containerd;
 * - `POST /token` with an OAuth2 password grant form
 *   (https://distribution.github.io/distribution/spec/auth/oauth/).
 * The token grants the requested scopes intersected with the user's rules: nothing is
 * refused outright, so a client learns about missing access from the registry's 403.
 * No refresh tokens are issued (`offline_token` is ignored): clients keep the password.
 */
export function registerTokenRoutes(app: FastifyInstance, opts: TokenRouteOptions): void {
  const authFailed = (message: string) => {
    const e = new RegistryError("UNAUTHORIZED", message);
    e.headers = { "WWW-Authenticate": `Basic realm="${opts.service}"` };
    return e;
  };

  const issue = (reply: FastifyReply, user: UserConfig, scopes: string[]) => {
    const requested = parseScopes(scopes);
    const granted = opts.rules(user.username).grant(requested);
    const body = opts.tokens.issue(user.username, granted);
    return reply
      .code(200)
      .header("Content-Type", "application/json")
      .header("Cache-Control", "no-store")
      .header("Pragma", "no-cache")
      .send({ ...body, scope: granted.map(formatScope).join(" ") });
  };

  app.get("/token", async (req: FastifyRequest, reply: FastifyReply) => {
    const params = new URL(req.url, "http://x").searchParams;
    const header = req.headers.authorization?.trim();
    // Anonymous token requests get 401: there is no anonymous access to grant.
    if (!header) throw authFailed("authentication required");
    const creds = /^basic\s/i.test(header) ? parseBasic(header) : null;
    if (!creds) throw authFailed("the token endpoint needs Basic credentials");
    const account = params.get("account");
    if (account && account !== creds.username) {
      throw new RegistryError("UNSUPPORTED", "account does not match the credentials");
    }
    const user = await opts.checker.check(creds.username, creds.password);
    if (!user) throw authFailed("invalid username or password");
    return issue(reply, user, params.getAll("scope"));
  });

  app.post("/token", async (req: FastifyRequest, reply: FastifyReply) => {
    const form = new URLSearchParams((await readForm(req.raw)).toString("utf8"));
    const grant = form.get("grant_type");
    if (grant !== "password") {
      throw new RegistryError(
        "UNSUPPORTED",
        `grant_type ${JSON.stringify(grant ?? "")} is not supported: use password`,
      );
    }
    const username = form.get("username") ?? "";
    const password = form.get("password") ?? "";
    const user = username ? await opts.checker.check(username, password) : null;
    if (!user) throw authFailed("invalid username or password");
    return issue(reply, user, form.getAll("scope"));
  });
}

async function readForm(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_FORM_BYTES) {
      req.resume();
      throw new RegistryError("SIZE_INVALID", "token request body too large", undefined, 413);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
