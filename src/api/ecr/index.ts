import type { FastifyInstance } from "fastify";
import type { AwsLoginTokens } from "../../auth/aws-login.js";
import type { Config } from "../../config/schema.js";
import { ConfigError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { RegistryService } from "../../registry/service.js";
import type { ScanService } from "../../scan/types.js";
import { awsAuth, loginSubjects, registerEcrApi, tagImmutabilityGuard } from "./protocol.js";
import { EcrStore } from "./store.js";

export { EcrStore } from "./store.js";

/**
 * Wires the ECR API for `drydock serve`: checks the aws configuration, installs tag
 * immutability on the registry's pushes, and returns the route registration (`POST /`).
 */
export function setupEcrApi(
  config: Config,
  o: { registry: RegistryService; scan?: ScanService; loginTokens: AwsLoginTokens; log: Logger },
): (app: FastifyInstance) => void {
  const hasUsers = config.auth.users.length > 0;
  const usernames = new Set(config.auth.users.map((u) => u.username));
  const seen = new Set<string>();
  for (const c of config.aws.credentials) {
    if (seen.has(c.accessKeyId))
      throw new ConfigError(`aws.credentials: access key ${c.accessKeyId} appears twice`);
    seen.add(c.accessKeyId);
    if (hasUsers && (c.user === undefined || !usernames.has(c.user))) {
      throw new ConfigError(
        `aws.credentials: access key ${c.accessKeyId} needs "user" naming one of auth.users (its registry access for docker login -u AWS)`,
      );
    }
  }
  const store = new EcrStore(o.registry.meta.db);
  o.registry.tagGuard = tagImmutabilityGuard(store);
  const deps = {
    accountId: config.aws.accountId,
    region: config.aws.region,
    store,
    registry: o.registry,
    scan: o.scan,
    loginTokens: o.loginTokens,
    loginSubject: loginSubjects(config.aws.credentials),
    publicUrl: config.publicUrl,
  };
  const auth = awsAuth(config.aws.credentials, hasUsers);
  return (app) => registerEcrApi(app, { deps, auth, log: o.log });
}
