import type { FastifyInstance } from "fastify";
import type { AwsLoginTokens } from "../../auth/aws-login.js";
import type { Config } from "../../config/schema.js";
import { ConfigError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { LifecycleService } from "../../policy/lifecycle/service.js";
import type { RegistryService } from "../../registry/service.js";
import type { ScanService } from "../../scan/types.js";
import type { JsonService } from "../aws-json.js";
import type { RepositorySettingsService } from "../../settings/service.js";
import { awsAuth, registerEcrApi } from "./protocol.js";

/**
 * Wires the ECR API for `drydock serve`: checks the aws configuration and returns the route
 * registration (`POST /`). Tag immutability is the settings service's registry hook.
 */
export function setupEcrApi(
  config: Config,
  o: {
    registry: RegistryService;
    settings: RepositorySettingsService;
    scan?: ScanService;
    lifecycle?: LifecycleService;
    loginTokens: AwsLoginTokens;
    log: Logger;
    /** Other JSON 1.1 services served on the same `POST /` (EventBridge). */
    extraServices?: JsonService[];
  },
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
        `aws.credentials: access key ${c.accessKeyId} needs "user" naming one of auth.users (whose access rules apply to its AWS API calls and to docker login -u AWS)`,
      );
    }
  }
  const deps = {
    accountId: config.aws.accountId,
    region: config.aws.region,
    settings: o.settings,
    registry: o.registry,
    scan: o.scan,
    lifecycle: o.lifecycle,
    loginTokens: o.loginTokens,
    publicUrl: config.publicUrl,
  };
  const auth = awsAuth({
    credentials: config.aws.credentials,
    users: config.auth.users,
    accountId: config.aws.accountId,
  });
  return (app) => registerEcrApi(app, { deps, auth, log: o.log, extraServices: o.extraServices });
}
