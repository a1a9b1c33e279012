import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { IncomingMessage } from "node:http";
import type { Logger } from "../core/logger.js";
import { authorize, type AccessTable, type AwsPrincipal } from "./access.js";
import { verifySigV4 } from "./sigv4.js";

/**
 * The AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target: <prefix>.<Operation>`), shared by the
 * services that speak it (ECR now, EventBridge later): body reading, SigV4, authorization of
 * the signing key's user (src/api/access.ts), dispatch, and errors as
 * `{"__type": "...", "message": "..."}` with AWS's statuses. Body reading, authentication
 * (`authenticateAws`) and JSON input parsing are shared with the restJson1 protocol of
 * Inspector2 (src/api/inspector2/protocol.ts).
 */

/** An error with an AWS error name; `status` 400 for client errors, 500 for server ones. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "AwsError";
  }
}

/** What an operation learns about its caller. */
export interface CallContext {
  /** The access key that signed the request; undefined on an open (unsigned) API. */
  accessKeyId?: string;
  /**
   * The caller, already authorized for what the operation needs (the service's access table);
   * operations use it to filter what they list and to name the user (GetAuthorizationToken).
   */
  principal: AwsPrincipal;
  /** The Host header, for endpoints returned to the client. */
  host?: string;
}

export type Operation = (input: Record<string, unknown>, ctx: CallContext) => Promise<unknown>;

export interface JsonService {
  /** `AmazonEC2ContainerRegistry_V20150921` */
  targetPrefix: string;
  /** The SigV4 service name of the credential scope (`ecr`). */
  signingName: string;
  /** The IAM action prefix in AccessDeniedException messages (`ecr`). */
  iamPrefix: string;
  operations: Readonly<Record<string, Operation>>;
  /** What each operation needs (src/api/access.ts); an operation missing here is refused. */
  access: AccessTable;
}

export interface AwsAuthOptions {
  /** The secret of an access key id, or undefined when unknown. */
  secretFor(accessKeyId: string): string | undefined;
  /**
   * "sigv4": every request must be signed by a configured key. "open": any or no signature
   * (loopback without credentials). "closed": users exist but no AWS keys: nothing is allowed.
   */
  mode: "sigv4" | "open" | "closed";
  /**
   * The caller a request acts as: the user of the verified key (sigv4), or an unrestricted
   * caller (open); undefined for a key that names no known user (refused).
   */
  principal(accessKeyId: string | undefined): AwsPrincipal | undefined;
  now?: () => number;
}

/** ECR requests are small; PutImage manifests are the largest (4 MiB) plus JSON escaping. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export const JSON_11 = "application/x-amz-json-1.1";

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new AwsError("SerializationException", `request body over ${MAX_BODY_BYTES} bytes`, 413);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Registers `POST /` for the given services, routed by X-Amz-Target. */
export function registerAwsJson(
  app: FastifyInstance,
  opts: { services: JsonService[]; auth: AwsAuthOptions; log: Logger },
): void {
  const { log } = opts;
  app.post("/", async (req: FastifyRequest, reply: FastifyReply) => {
    (req as { routeKind?: string }).routeKind = "aws-json";
    const requestId = randomUUID();
    const send = (status: number, body: unknown) =>
      reply
        .code(status)
        .header("Content-Type", JSON_11)
        .header("x-amzn-RequestId", requestId)
        // A Buffer, so that Fastify adds no "; charset=utf-8" (AWS sends the bare type).
        .send(Buffer.from(JSON.stringify(body)));
    const target = String(req.headers["x-amz-target"] ?? "");
    let opName = "";
    try {
      const body = await readBody(req.raw);
      const dot = target.lastIndexOf(".");
      const service = opts.services.find((s) => s.targetPrefix === target.slice(0, dot));
      opName = target.slice(dot + 1);
      const { accessKeyId, principal } = authenticateAws(req, body, opts.auth, service?.signingName ?? "");
      const op =
        service && Object.hasOwn(service.operations, opName) ? service.operations[opName] : undefined;
      if (!service || !op)
        throw new AwsError("UnknownOperationException", `Unknown operation ${target || "(no X-Amz-Target)"}`);
      const input = parseInput(body);
      authorize(principal, service.access, service.iamPrefix, opName, input);
      const ctx: CallContext = { host: req.headers.host, accessKeyId, principal };
      const out = await op(input, ctx);
      return send(200, out ?? {});
    } catch (e) {
      if (e instanceof AwsError) {
        if (e.status >= 500) log.warn({ op: opName, code: e.code, err: e.message }, "AWS API error");
        return send(e.status, { __type: e.code, message: e.message });
      }
      log.error({ err: e, op: opName }, "AWS API internal error");
      return send(500, { __type: "ServerException", message: "internal server error" });
    }
  });
}

/**
 * Who signed a request, and whom it acts as: the closed mode refuses everything, the sigv4 mode
 * verifies the signature for `signingName` (the credential scope's service), then the key's
 * principal is looked up. Throws AwsError with AWS's names (statuses as JSON 1.1 gives them:
 * 403 for a missing signature, 400 otherwise; restJson1 services map the codes themselves).
 */
export function authenticateAws(
  req: FastifyRequest,
  body: Buffer,
  auth: AwsAuthOptions,
  signingName: string,
): { accessKeyId: string | undefined; principal: AwsPrincipal } {
  let accessKeyId: string | undefined;
  if (auth.mode === "closed") {
    throw new AwsError(
      "UnrecognizedClientException",
      "The security token included in the request is invalid. (No aws.credentials are configured: see docs/ecr-api.md.)",
    );
  }
  if (auth.mode === "sigv4") {
    const v = verifySigV4(
      { method: req.method, url: req.url, rawHeaders: req.raw.rawHeaders, body },
      { service: signingName, secretFor: auth.secretFor, now: auth.now },
    );
    if (!v.ok)
      throw new AwsError(v.code, v.message, v.code === "MissingAuthenticationTokenException" ? 403 : 400);
    accessKeyId = v.accessKeyId;
  }
  const principal = auth.principal(accessKeyId);
  if (!principal)
    throw new AwsError(
      "UnrecognizedClientException",
      "The security token included in the request is invalid. (The access key names no auth.users entry.)",
    );
  return { accessKeyId, principal };
}

/** The JSON object of a request; an empty body is `{}` (no-input operations). */
export function parseInput(body: Buffer): Record<string, unknown> {
  const text = body.toString("utf8").trim();
  if (text === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new AwsError("SerializationException", `malformed JSON request body: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new AwsError("SerializationException", "the request body must be a JSON object");
  }
  return v as Record<string, unknown>;
}
