import type { FastifyInstance } from "fastify";
import { AccessRules } from "../../auth/rules.js";
import type { AccessRule, AwsCredentialConfig } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";
import { AwsPrincipal, ecrAccess } from "../access.js";
import { registerAwsJson, type AwsAuthOptions, type JsonService } from "../aws-json.js";
import type { EcrDeps } from "./context.js";
import { imageOperations } from "./images.js";
import { lifecycleOperations } from "./lifecycle.js";
import { registryOperations } from "./registry.js";
import { repositoryOperations } from "./repositories.js";
import { scanningOperations } from "./scanning.js";

/** ECR's JSON 1.1 target prefix and SigV4 service name. */
export const ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921";
export const ECR_SIGNING_NAME = "ecr";
export const ECR_IAM_PREFIX = "ecr";

/** The ECR service: every supported operation by name (docs/ecr-api.md). */
export function ecrService(d: EcrDeps): JsonService {
  return {
    targetPrefix: ECR_TARGET_PREFIX,
    signingName: ECR_SIGNING_NAME,
    iamPrefix: ECR_IAM_PREFIX,
    access: ecrAccess(d),
    operations: {
      ...repositoryOperations(d),
      ...imageOperations(d),
      ...scanningOperations(d),
      ...registryOperations(d),
      ...lifecycleOperations(d),
    },
  };
}

/**
 * How requests are authenticated and whom they act as: SigV4 with the configured keys, each
 * acting as its `user` with that user's access rules; without keys, open on a registry without
 * users (loopback only) and closed otherwise (never an open control plane in front of a
 * protected registry). Without users every caller is unrestricted.
 */
export function awsAuth(opts: {
  credentials: readonly AwsCredentialConfig[];
  users: readonly { username: string; access: readonly AccessRule[] }[];
  accountId: string;
}): AwsAuthOptions {
  const { credentials, users, accountId } = opts;
  const secrets = new Map(credentials.map((c) => [c.accessKeyId, c.secretAccessKey]));
  const keys = new Map(credentials.map((c) => [c.accessKeyId, c]));
  const rules = new Map(users.map((u) => [u.username, new AccessRules(u.access, u.username)]));
  const restricted = users.length > 0;
  return {
    mode: credentials.length ? "sigv4" : restricted ? "closed" : "open",
    secretFor: (id) => secrets.get(id),
    principal: (id) => {
      const key = id === undefined ? undefined : keys.get(id);
      if (!restricted) return AwsPrincipal.unrestricted(accountId, id, key?.user);
      const user = key?.user;
      const r = user === undefined ? undefined : rules.get(user);
      return user !== undefined && r ? AwsPrincipal.user(accountId, user, r, id) : undefined;
    },
  };
}

/** Registers `POST /` for ECR and any other JSON 1.1 services (EventBridge) on the same port. */
export function registerEcrApi(
  app: FastifyInstance,
  opts: { deps: EcrDeps; auth: AwsAuthOptions; log: Logger; extraServices?: JsonService[] },
): void {
  registerAwsJson(app, {
    services: [ecrService(opts.deps), ...(opts.extraServices ?? [])],
    auth: opts.auth,
    log: opts.log.child({ component: "aws-api" }),
  });
}
