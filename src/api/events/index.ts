import type { JsonService } from "../aws-json.js";
import { anyCaller, registryAdmin, type AccessTable, type OperationAccess } from "../access.js";
import type { Config } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";
import { busNameOf, ruleArn } from "../../events/bus-arns.js";
import { EventBusService } from "../../events/bus-service.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { eventsOperations } from "./operations.js";

/** EventBridge's JSON 1.1 target prefix, SigV4 service name and IAM prefix. */
export const EVENTS_TARGET_PREFIX = "AWSEvents";
export const EVENTS_SIGNING_NAME = "events";
export const EVENTS_IAM_PREFIX = "events";

/**
 * Who may call which EventBridge operation (docs/access.md, docs/events.md "The EventBridge
 * API"): rules, buses, archives, replays, tags and TestEventPattern are open to any key (names,
 * patterns and states hold no secret); everything that changes the bus (rules, targets, buses,
 * connections, API destinations, archives, replays, tags) and PutEvents need `admin`, since a
 * target sends events anywhere and a put event reaches every rule's targets. Reading targets,
 * API destinations and connections needs `admin` too, as docs/access.md has it for event targets'
 * endpoints: an endpoint URL is often a secret itself (a Slack incoming webhook's path), and
 * targets' HttpParameters may carry tokens. The resource named in an AccessDeniedException is the
 * rule's ARN where the request names one, else `*`.
 */
export function eventsAccess(r: { region: string; accountId: string }): AccessTable {
  const admin = registryAdmin();
  const onRule =
    (field: string): OperationAccess =>
    (input) => {
      const rule = input[field];
      const bus = input.EventBusName;
      if (typeof rule !== "string") return admin(input);
      // The rule's ARN as the service will write it (a bus named by ARN included).
      const busName = (typeof bus === "string" ? busNameOf(r, bus) : undefined) ?? "default";
      return [{ action: "admin", resource: ruleArn(r, busName, rule) }];
    };
  return {
    PutRule: onRule("Name"),
    DeleteRule: onRule("Name"),
    EnableRule: onRule("Name"),
    DisableRule: onRule("Name"),
    PutTargets: onRule("Rule"),
    RemoveTargets: onRule("Rule"),
    DescribeRule: anyCaller,
    ListRules: anyCaller,
    ListTargetsByRule: admin,
    ListRuleNamesByTarget: anyCaller,
    PutEvents: admin,
    TestEventPattern: anyCaller,
    CreateEventBus: admin,
    DeleteEventBus: admin,
    DescribeEventBus: anyCaller,
    ListEventBuses: anyCaller,
    CreateConnection: admin,
    UpdateConnection: admin,
    DeleteConnection: admin,
    DescribeConnection: admin,
    ListConnections: admin,
    CreateApiDestination: admin,
    UpdateApiDestination: admin,
    DeleteApiDestination: admin,
    DescribeApiDestination: admin,
    ListApiDestinations: admin,
    CreateArchive: admin,
    UpdateArchive: admin,
    DeleteArchive: admin,
    DescribeArchive: anyCaller,
    ListArchives: anyCaller,
    StartReplay: admin,
    CancelReplay: admin,
    DescribeReplay: anyCaller,
    ListReplays: anyCaller,
    TagResource: admin,
    UntagResource: admin,
    ListTagsForResource: anyCaller,
  };
}

/** The EventBridge API, served with ECR's on `POST /` (src/api/aws-json.ts routes by X-Amz-Target). */
export function eventsService(bus: EventBusService): JsonService {
  return {
    targetPrefix: EVENTS_TARGET_PREFIX,
    signingName: EVENTS_SIGNING_NAME,
    iamPrefix: EVENTS_IAM_PREFIX,
    access: eventsAccess(bus.identity),
    operations: eventsOperations(bus),
  };
}

/**
 * The EventBridge API for `drydock serve`: the bus service over the metadata store, with the
 * account and region of ARNs and the configured command targets. Served by setupEcrApi's
 * `POST /` beside ECR (one JSON 1.1 route for both, same credentials and access rules).
 */
export function setupEventsApi(config: Config, o: { meta: MetaStore; log: Logger }): JsonService {
  const bus = new EventBusService(o.meta, {
    identity: { accountId: config.aws.accountId, region: config.aws.region },
    log: o.log.child({ component: "events-api" }),
    commands: () => Object.keys(config.events.commands),
  });
  return eventsService(bus);
}
