import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../../core/logger.js";
import { authorize, inspector2Access, type AccessTable } from "../access.js";
import { authenticateAws, readBody, type AwsAuthOptions } from "../aws-json.js";
import type { Inspector2Backend } from "./backend.js";
import { cannotParse, renderInspector2Error } from "./errors.js";
import type { RegistryIdentity } from "./finding.js";
import { INSPECTOR2_ROUTES, inspector2Operations, type Inspector2Handler } from "./operations.js";

/**
 * Inspector2's restJson1 protocol on the registry's port: `POST /findings/list` and the other
 * paths of INSPECTOR2_ROUTES (`GET|POST|DELETE /tags/{resourceArn}`), `Content-Type:
 * application/json`, SigV4 for service `inspector2` with the same keys as ECR, the same
 * authorization (src/api/access.ts), `x-amzn-RequestId` on every answer, and errors as
 * Inspector2's model has them: the status of the error, its name in `x-amzn-errortype` and as
 * `__type` in the body with `message` and the error's members (errors.ts).
 */

export const INSPECTOR2_SIGNING_NAME = "inspector2";
export const INSPECTOR2_IAM_PREFIX = "inspector2";
const JSON_TYPE = "application/json";

/** The JSON object of a request (empty body: `{}`), or ValidationException CANNOT_PARSE. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = body.toString("utf8").trim();
  if (text === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw cannotParse(`Could not parse the request body as JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw cannotParse("The request body must be a JSON object");
  return v as Record<string, unknown>;
}

export interface Inspector2ApiOptions {
  backend: Inspector2Backend;
  auth: AwsAuthOptions;
  registry: RegistryIdentity;
  log: Logger;
  /** Defaults to inspector2Access() (tests may narrow it). */
  access?: AccessTable;
}

/**
 * Registers the Inspector2 routes. They live in their own plugin context, whose only body
 * parser leaves the body unread (the route reads the raw bytes: SigV4 hashes them), whatever
 * parsers the rest of the server has; the registry's /v2 routes are untouched.
 */
export function registerInspector2Api(app: FastifyInstance, opts: Inspector2ApiOptions): void {
  const log = opts.log.child({ component: "inspector2-api" });
  const access = opts.access ?? inspector2Access();
  const handlers = inspector2Operations(opts.backend, opts.registry);

  const handle =
    (name: string, handler: Inspector2Handler) => async (req: FastifyRequest, reply: FastifyReply) => {
      (req as { routeKind?: string }).routeKind = "aws-inspector2";
      const requestId = randomUUID();
      const send = (status: number, body: unknown, errorType?: string) => {
        reply.code(status).header("Content-Type", JSON_TYPE).header("x-amzn-RequestId", requestId);
        if (errorType) reply.header("x-amzn-errortype", errorType);
        // A Buffer, so that Fastify adds no "; charset=utf-8".
        return reply.send(Buffer.from(JSON.stringify(body)));
      };
      try {
        const body = await readBody(req.raw);
        const { principal } = authenticateAws(req, body, opts.auth, INSPECTOR2_SIGNING_NAME);
        const input = parseJsonObject(body);
        // URI label and query members (the tag operations).
        const params = req.params as Record<string, string | undefined>;
        if (params.resourceArn !== undefined) input.resourceArn = params.resourceArn;
        const q = req.url.indexOf("?");
        if (q >= 0) {
          const tagKeys = new URLSearchParams(req.url.slice(q + 1)).getAll("tagKeys");
          if (tagKeys.length) input.tagKeys = tagKeys;
        }
        authorize(principal, access, INSPECTOR2_IAM_PREFIX, name, input);
        const out = await handler(input, { principal });
        return send(200, out ?? {});
      } catch (e) {
        const r = renderInspector2Error(e);
        if (r) {
          if (r.status >= 500)
            log.warn({ op: name, code: r.code, err: (e as Error).message }, "Inspector2 API error");
          return send(r.status, r.body, r.code);
        }
        log.error({ err: e, op: name }, "Inspector2 API internal error");
        return send(
          500,
          { __type: "InternalServerException", message: "internal server error" },
          "InternalServerException",
        );
      }
    };

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
    for (const route of INSPECTOR2_ROUTES) {
      const handler = handlers[route.name];
      if (!handler) throw new Error(`Inspector2 operation ${route.name} has no handler`);
      scope.route({ method: route.method, url: route.path, handler: handle(route.name, handler) });
    }
  });
}
