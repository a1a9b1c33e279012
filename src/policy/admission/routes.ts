import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Authorizer } from "../../auth/types.js";
import { AdmissionError } from "./review.js";
import type { AdmissionWebhook } from "./webhook.js";

/** The largest AdmissionReview read (Kubernetes objects are at most about 1.5 MiB in etcd; a review holds two). */
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

/**
 * POST /admission/v1/validate and /admission/v1/mutate on the registry's listener (its TLS).
 * Who may call: anyone on an open (loopback, no users) registry; else credentials (Basic or a
 * Bearer token, as the API server sends from its webhook kubeconfig) of a user who may pull every
 * repository, the access the webhook's answers reveal (the `registry:catalog:*` scope).
 * A malformed body gets 400 with a Kubernetes Status naming the problem; nothing is decided.
 */
export function registerAdmissionRoutes(
  app: FastifyInstance,
  o: { webhook: AdmissionWebhook; auth: Authorizer },
): void {
  const handler = (mode: "validate" | "mutate") => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!o.auth.open)
      await o.auth.authorize(
        req.headers.authorization,
        [{ type: "registry", name: "catalog", actions: ["*"] }],
        {
          host: req.headers.host,
          protocol: req.protocol === "https" ? "https" : "http",
        },
      );
    let body: unknown;
    try {
      const raw = await readBounded(req);
      if (raw === null)
        return badRequest(reply, `the AdmissionReview is larger than ${MAX_REVIEW_BYTES} bytes`, 413);
      body = JSON.parse(raw.toString("utf8"));
    } catch (e) {
      return badRequest(reply, `the body is not JSON: ${(e as Error).message}`);
    }
    try {
      return reply
        .code(200)
        .header("Content-Type", "application/json")
        .send(await o.webhook.review(body, mode));
    } catch (e) {
      if (e instanceof AdmissionError) return badRequest(reply, e.message);
      throw e;
    }
  };
  app.post("/admission/v1/validate", handler("validate"));
  app.post("/admission/v1/mutate", handler("mutate"));
}

function badRequest(reply: FastifyReply, message: string, code = 400) {
  return reply
    .code(code)
    .header("Content-Type", "application/json")
    .send({ apiVersion: "v1", kind: "Status", status: "Failure", message, reason: "BadRequest", code });
}

/** The request body, or null past MAX_REVIEW_BYTES. */
async function readBounded(req: FastifyRequest): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_REVIEW_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
