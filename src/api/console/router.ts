import type { AwsPrincipal } from "../access.js";

/**
 * The console API's routing contract: area modules (repositories.ts, images.ts, ...) register
 * handlers on a ConsoleRoutes; index.ts turns them into Fastify routes under /api/console with
 * the session, CSRF and error handling every route shares. A handler gets the signed-in caller
 * and parsed input, and returns the JSON body (or a ConsoleDownload); it never sees Fastify.
 */

export interface ConsoleRequest {
  /** The signed-in user (or the unrestricted caller of an open, loopback-only console). */
  principal: AwsPrincipal;
  /** Path parameters; the wildcard `*` (repository names with slashes) is `params["*"]`. */
  params: Record<string, string>;
  /** The query string, one value per name (a repeated name is a 400 in the parameter readers). */
  query: Record<string, string | undefined>;
  /** The parsed JSON body of POST/PUT/PATCH/DELETE (undefined when there is none). */
  body: unknown;
}

export type ConsoleHandler = (req: ConsoleRequest) => Promise<unknown>;

/** A file to download (SBOMs, findings exports, reports): sent with Content-Disposition: attachment. */
export class ConsoleDownload {
  constructor(
    readonly contentType: string,
    readonly filename: string,
    readonly body: string | Buffer | NodeJS.ReadableStream,
  ) {}
}

export interface RouteOptions {
  /** Only callers with the `admin` action (docs/access.md) may call it: 403 for others. */
  admin?: boolean;
}

export interface ConsoleRoutes {
  /** `path` is relative to /api/console, in Fastify's syntax (`/repositories/:id`, `*`). */
  get(path: string, handler: ConsoleHandler, opts?: RouteOptions): void;
  post(path: string, handler: ConsoleHandler, opts?: RouteOptions): void;
  put(path: string, handler: ConsoleHandler, opts?: RouteOptions): void;
  patch(path: string, handler: ConsoleHandler, opts?: RouteOptions): void;
  del(path: string, handler: ConsoleHandler, opts?: RouteOptions): void;
}

/**
 * A client error of the console API, answered as `{error: {code, message}}` with `status`:
 * 400 BadParameter, 401 Unauthenticated, 403 Forbidden, 404 NotFound, 409 Conflict.
 */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ConsoleError";
  }
}

export const badParameter = (message: string) => new ConsoleError(400, "BadParameter", message);
export const notFound = (message: string) => new ConsoleError(404, "NotFound", message);
export const forbidden = (message: string) => new ConsoleError(403, "Forbidden", message);
