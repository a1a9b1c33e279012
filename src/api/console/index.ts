import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Readable } from "node:stream";
import { loadTokenKey } from "../../auth/secret.js";
import { tlsFiles } from "../../core/tls.js";
import { readBody } from "../aws-json.js";
import type { ConsoleDeps } from "./deps.js";
import { registerDashboardRoutes } from "./dashboard.js";
import { registerEventRoutes } from "./events.js";
import { registerImageRoutes } from "./images.js";
import { registerReportRoutes } from "./reports.js";
import { registerRepositoryRoutes } from "./repositories.js";
import {
  ConsoleDownload,
  ConsoleError,
  forbidden,
  type ConsoleHandler,
  type ConsoleRoutes,
  type RouteOptions,
} from "./router.js";
import { registerScanningRoutes } from "./scanning.js";
import {
  ConsoleSessions,
  CSRF_HEADER,
  readCookie,
  SESSION_COOKIE,
  sessionCookie,
  type SessionOptions,
} from "./session.js";
import { registerConsoleStatic } from "./static.js";
import { registerSuppressionRoutes } from "./suppression.js";
import { registerVulnerabilityRoutes } from "./vulnerabilities.js";

/** Every area of the console API, in one list (each registers its routes on ConsoleRoutes). */
const AREAS: readonly ConsoleArea[] = [
  registerRepositoryRoutes,
  registerImageRoutes,
  registerVulnerabilityRoutes,
  registerDashboardRoutes,
  registerReportRoutes,
  registerScanningRoutes,
  registerSuppressionRoutes,
  registerEventRoutes,
];

/** Console request bodies are small JSON documents (a scanning configuration, a filter). */
const MAX_BODY_BYTES = 256 * 1024;

export interface ConsoleSetup {
  deps: ConsoleDeps;
  sessions: ConsoleSessions;
  /** Whether the listener is HTTPS (the session cookie is then `Secure`). */
  secure: boolean;
  /** Serve the built pages under /console/ (false in API tests). */
  pages?: boolean;
  /** The area modules to register (default: every area; the plumbing's own tests give theirs). */
  areas?: readonly ConsoleArea[];
}

export type ConsoleArea = (r: ConsoleRoutes, deps: ConsoleDeps) => void;

/**
 * The console: its pages under /console/ (static.ts) and its JSON API under /api/console/
 * (docs/console.md). Every API route but the session's needs a session (or an open console);
 * changes need the CSRF token; errors are `{error: {code, message}}`.
 */
export function registerConsole(app: FastifyInstance, setup: ConsoleSetup): void {
  const { sessions, deps } = setup;
  if (setup.pages !== false) registerConsoleStatic(app);

  app.get("/api/console/session", async (req, reply) => {
    noStore(reply);
    const s = sessions.resolve(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (!s) return sendError(reply, new ConsoleError(401, "Unauthenticated", "sign in first"));
    return reply.send({
      open: sessions.open,
      user: s.user,
      admin: s.principal.admin,
      csrfToken: s.csrfToken,
    });
  });
  app.post("/api/console/session", async (req, reply) => {
    noStore(reply);
    let username: unknown;
    try {
      const body = (await readJson(req)) as { username?: unknown; password?: unknown } | undefined;
      username = body?.username;
      const password = body?.password;
      if (typeof username !== "string" || typeof password !== "string" || username === "")
        throw new ConsoleError(400, "BadParameter", "give a username and a password");
      const cookie = await sessions.signIn(username, password);
      const s = sessions.resolve(cookie)!;
      return reply
        .header("Set-Cookie", sessionCookie(cookie, setup.secure))
        .send({ open: false, user: s.user, admin: s.principal.admin, csrfToken: s.csrfToken });
    } catch (e) {
      if (e instanceof ConsoleError && e.status === 401)
        deps.log.info({ username }, "console sign-in refused");
      return sendError(reply, e, deps);
    }
  });
  app.delete("/api/console/session", async (_req, reply) => {
    noStore(reply);
    // No CSRF check: signing out is harmless, and must work with a broken or expired session.
    return reply.header("Set-Cookie", sessionCookie("", setup.secure)).code(204).send();
  });

  const add =
    (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE") =>
    (path: string, handler: ConsoleHandler, opts: RouteOptions = {}) => {
      app.route({
        method,
        url: `/api/console${path}`,
        handler: async (req, reply) => {
          (req as { routeKind?: string }).routeKind = `console ${method} ${path}`;
          noStore(reply);
          try {
            const s = sessions.resolve(readCookie(req.headers.cookie, SESSION_COOKIE));
            if (!s) throw new ConsoleError(401, "Unauthenticated", "sign in first");
            if (method !== "GET" && !sessions.csrfValid(s, headerOf(req, CSRF_HEADER)))
              throw forbidden(
                `missing or wrong ${CSRF_HEADER} header (read it from GET /api/console/session)`,
              );
            if (opts.admin && !s.principal.admin)
              throw forbidden(
                'this needs the admin action (an access rule {repository: "**", actions: [admin]})',
              );
            const out = await handler({
              principal: s.principal,
              params: req.params as Record<string, string>,
              query: req.query as Record<string, string | undefined>,
              body: method === "GET" ? undefined : await readJson(req),
            });
            if (out instanceof ConsoleDownload) return sendDownload(reply, out);
            if (out === undefined) return reply.code(204).send();
            return reply.type("application/json; charset=utf-8").send(JSON.stringify(out));
          } catch (e) {
            return sendError(reply, e, deps);
          }
        },
      });
    };
  const routes: ConsoleRoutes = {
    get: add("GET"),
    post: add("POST"),
    put: add("PUT"),
    patch: add("PATCH"),
    del: add("DELETE"),
  };
  for (const area of setup.areas ?? AREAS) area(routes, deps);
  app.all("/api/console/*", async (req, reply) =>
    sendError(noStore(reply), new ConsoleError(404, "NotFound", `no console API ${req.method} ${req.url}`)),
  );
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header("Cache-Control", "no-store");
}

function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readJson(req: FastifyRequest): Promise<unknown> {
  const raw = req.raw;
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES)
    throw new ConsoleError(413, "TooLarge", `request body over ${MAX_BODY_BYTES} bytes`);
  const body = await readBody(raw).catch(() => {
    throw new ConsoleError(413, "TooLarge", `request body over ${MAX_BODY_BYTES} bytes`);
  });
  if (body.length > MAX_BODY_BYTES)
    throw new ConsoleError(413, "TooLarge", `request body over ${MAX_BODY_BYTES} bytes`);
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new ConsoleError(400, "BadParameter", `the body is not JSON: ${(e as Error).message}`);
  }
}

function sendDownload(reply: FastifyReply, d: ConsoleDownload) {
  const ascii = d.filename.replace(/[^\w.-]/g, "_");
  reply
    .type(d.contentType)
    .header(
      "Content-Disposition",
      `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(d.filename)}`,
    );
  if (typeof d.body === "string" || Buffer.isBuffer(d.body)) return reply.send(d.body);
  return reply.send(d.body instanceof Readable ? d.body : Readable.from(d.body as AsyncIterable<Buffer>));
}

function sendError(reply: FastifyReply, e: unknown, deps?: Pick<ConsoleDeps, "log">) {
  if (e instanceof ConsoleError)
    return reply
      .code(e.status)
      .type("application/json; charset=utf-8")
      .send(JSON.stringify({ error: { code: e.code, message: e.message } }));
  deps?.log.error({ err: e }, "console API internal error");
  return reply
    .code(500)
    .type("application/json; charset=utf-8")
    .send(JSON.stringify({ error: { code: "InternalError", message: "internal server error" } }));
}

/**
 * The console of `drydock serve` as main.ts wires it: sessions signed with the token key
 * (auth.tokenSecret or DATA/token.key, shared by every node), users from `auth`.
 */
export async function setupConsole(
  deps: ConsoleDeps,
  auth: { users?: SessionOptions["users"]; tokenKey?: Buffer },
  dataDir: string,
): Promise<(app: FastifyInstance) => void> {
  // Read by the authorizer when users are configured; an open console needs it for CSRF tokens only.
  const key = auth.tokenKey ?? (await loadTokenKey(deps.config.auth.tokenSecret, dataDir));
  const sessions = new ConsoleSessions({
    key,
    accountId: deps.config.aws.accountId,
    users: auth.users,
    now: deps.now,
  });
  const secure = tlsFiles(deps.config.tls) !== null;
  return (app) => registerConsole(app, { deps, sessions, secure });
}
