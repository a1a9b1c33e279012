import type { FastifyInstance } from "fastify";
import type { Config } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";
import { awsAuth } from "../ecr/protocol.js";
import type { Inspector2Backend } from "./backend.js";
import { registerInspector2Api } from "./protocol.js";

export type { Inspector2Backend } from "./backend.js";
export type { FindingRecord, InspectorFinding } from "./finding.js";
export { toInspectorFinding, findingArnOf, imageResourceId } from "./finding.js";
export { matchesFilterCriteria, compareFindings, criteriaAst, DEFAULT_SORT } from "./criteria.js";

/**
 * Wires the Inspector2 API for `drydock serve` (docs/inspector2-api.md): the same keys, users
 * and rules as the ECR API (setupEcrApi checks the aws configuration), the same port. Returns
 * the route registration, to call from `buildServer`'s `extraRoutes` beside the ECR routes:
 *
 *     const inspector2Routes = setupInspector2Api(config, { backend, log });
 *     extraRoutes: (a) => { auth.routes?.(a); ecrRoutes(a); inspector2Routes(a); }
 */
export function setupInspector2Api(
  config: Config,
  o: { backend: Inspector2Backend; log: Logger },
): (app: FastifyInstance) => void {
  const auth = awsAuth({
    credentials: config.aws.credentials,
    users: config.auth.users,
    accountId: config.aws.accountId,
  });
  const registry = { accountId: config.aws.accountId, region: config.aws.region };
  return (app) => registerInspector2Api(app, { backend: o.backend, auth, registry, log: o.log });
}
