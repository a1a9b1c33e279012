import bcrypt from "bcryptjs";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { randomBytes } from "node:crypto";
import { AccessRules } from "../../auth/rules.js";
import { CredentialChecker } from "../../auth/credentials.js";
import { configSchema, type AccessRule, type Config } from "../../config/schema.js";
import { silentLogger } from "../../core/logger.js";
import { InspectorReports } from "../../findings/reports/service.js";
import {
  ACCOUNT,
  openSuppressionWorld,
  REGION,
  type SuppressionWorld,
  type SuppressionWorldOptions,
} from "../../findings/suppression-testing.js";
import { createHttpServer } from "../../server.js";
import type { ConsoleDeps } from "./deps.js";
import { registerConsole, type ConsoleArea } from "./index.js";
import { ConsoleSessions, CSRF_HEADER, SESSION_COOKIE } from "./session.js";

/**
 * The console API over a real registry, scan and Inspector2 world (SQLite, or another driver of
 * metaDrivers: openSuppressionWorld's options) for the area modules' API tests: requests go
 * through `app.inject`, as signed-in users with their cookie and CSRF token.
 */

/** A user with every action everywhere, and one who may only pull `team/**`: most area tests sign in as these. */
export const ADMIN_USER = {
  username: "admin",
  access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
} satisfies { username: string; access: AccessRule[] };
export const TEAM_DEV_USER = {
  username: "dev",
  access: [{ repository: "team/**", actions: ["pull"] }],
} satisfies { username: string; access: AccessRule[] };

export interface ConsoleWorld extends SuppressionWorld {
  app: FastifyInstance;
  deps: ConsoleDeps;
  /** Signs a configured user in (password = username); the session to pass to `call`. */
  signIn(username: string): Promise<TestSession>;
  /** An API request (`path` under /api/console) as `as` (default: the first user, or the open console). */
  call(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    opts?: { as?: TestSession; body?: unknown; csrf?: boolean },
  ): Promise<LightMyRequestResponse>;
  /** GET returning the JSON body; fails the test on a status other than 200. */
  json<T = unknown>(path: string, as?: TestSession): Promise<T>;
}

export interface TestSession {
  cookie: string;
  csrfToken: string;
}

export interface ConsoleWorldOptions extends SuppressionWorldOptions {
  /** Configured users (password = username); none: an open console. */
  users?: { username: string; access: AccessRule[] }[];
  /** Configuration changes over the defaults. */
  config?: (c: Config) => void;
  /** The area modules to register (default: all). */
  areas?: readonly ConsoleArea[];
  /** As behind TLS: the session cookie is `Secure`. */
  secure?: boolean;
}

export async function openConsoleWorld(o: ConsoleWorldOptions = {}): Promise<ConsoleWorld> {
  const world = await openSuppressionWorld(o);
  const config = configSchema.parse({ aws: { accountId: ACCOUNT, region: REGION } });
  o.config?.(config);
  const log = silentLogger();
  const deps: ConsoleDeps = {
    config,
    log,
    meta: world.meta,
    blobs: world.blobs,
    registry: world.registry,
    settings: world.settings,
    scan: world.scans,
    inspector2: world.inspector,
    reports: new InspectorReports(world.meta, world.blobs, {
      registry: { accountId: ACCOUNT, region: REGION },
    }),
    now: () => world.clock.now,
  };
  const users = (o.users ?? []).map((u) => ({ ...u, passwordHash: bcrypt.hashSync(u.username, 4) }));
  const rules = new Map(users.map((u) => [u.username, new AccessRules(u.access, u.username)]));
  const sessions = new ConsoleSessions({
    key: randomBytes(32),
    accountId: ACCOUNT,
    users: users.length
      ? { checker: new CredentialChecker(users), rulesFor: (n) => rules.get(n)! }
      : undefined,
  });
  const app = createHttpServer(log);
  registerConsole(app, { deps, sessions, secure: o.secure ?? false, pages: false, areas: o.areas });
  await app.ready();

  let first: TestSession | undefined;
  const call: ConsoleWorld["call"] = async (method, path, opts = {}) => {
    const s = opts.as ?? (users.length ? (first ??= await signIn(users[0]!.username)) : await openSession());
    const headers: Record<string, string> = { cookie: `${SESSION_COOKIE}=${s.cookie}` };
    if (opts.csrf !== false) headers[CSRF_HEADER] = s.csrfToken;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    return app.inject({
      method,
      url: `/api/console${path}`,
      headers,
      payload: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  };
  const signIn = async (username: string): Promise<TestSession> => {
    const res = await app.inject({
      method: "POST",
      url: "/api/console/session",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ username, password: username }),
    });
    if (res.statusCode !== 200) throw new Error(`sign-in of ${username}: ${res.statusCode} ${res.body}`);
    const cookie = /drydock_session=([^;]*)/.exec(String(res.headers["set-cookie"]))![1]!;
    return { cookie, csrfToken: (res.json() as { csrfToken: string }).csrfToken };
  };
  const openSession = async (): Promise<TestSession> => {
    const res = await app.inject({ method: "GET", url: "/api/console/session" });
    return { cookie: "", csrfToken: (res.json() as { csrfToken: string }).csrfToken };
  };
  return {
    ...world,
    app,
    deps,
    signIn,
    call,
    async json<T>(path: string, as?: TestSession) {
      const res = await call("GET", path, { as });
      if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${res.body}`);
      return res.json() as T;
    },
    async close() {
      await app.close();
      await world.close();
    },
  };
}
