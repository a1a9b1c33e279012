import type { FastifyInstance } from "fastify";
import type { AwsCredentialConfig } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";
import { registerAwsJson, type AwsAuthOptions, type JsonService } from "../aws-json.js";
import type { EcrDeps } from "./context.js";
import { imageOperations } from "./images.js";
import { registryOperations } from "./registry.js";
import { repositoryOperations } from "./repositories.js";
import { scanningOperations } from "./scanning.js";

/** ECR's JSON 1.1 target prefix and SigV4 service name. */
export const ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921";
export const ECR_SIGNING_NAME = "ecr";

/** The ECR service: every supported operation by name (docs/ecr-api.md). */
export function ecrService(d: EcrDeps): JsonService {
  return {
    targetPrefix: ECR_TARGET_PREFIX,
    signingName: ECR_SIGNING_NAME,
    operations: {
      ...repositoryOperations(d),
      ...imageOperations(d),
      ...scanningOperations(d),
      ...registryOperations(d),
    },
  };
}

/**
 * How requests are authenticated: SigV4 with the configured keys; without keys, open on a
 * registry without users (loopback only) and closed otherwise (never an open control plane
 * in front of a protected registry).
 */
export function awsAuth(
  credentials: readonly AwsCredentialConfig[],
  registryHasUsers: boolean,
): AwsAuthOptions {
  const secrets = new Map(credentials.map((c) => [c.accessKeyId, c.secretAccessKey]));
  return {
    mode: credentials.length ? "sigv4" : registryHasUsers ? "closed" : "open",
    secretFor: (id) => secrets.get(id),
  };
}

/** The auth user of each access key, for GetAuthorizationToken passwords. */
export function loginSubjects(
  credentials: readonly AwsCredentialConfig[],
): (accessKeyId: string | undefined) => string {
  const users = new Map(credentials.map((c) => [c.accessKeyId, c.user ?? ""]));
  return (id) => (id === undefined ? "" : (users.get(id) ?? ""));
}

/**
 * Tag immutability for pushes: refuses to move a tag of an IMMUTABLE repository (or, with
 * exclusions, a tag the filters do not exempt) to another manifest, with the message ECR
 * gives docker (`tag invalid: The image tag '…' already exists …`).
 */
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
