import { AwsError, type Operation } from "../aws-json.js";
import {
  BusError,
  type EventBusService,
  type PutEventsEntry,
  type RuleView,
  type Tags,
} from "../../events/bus-service.js";
import type {
  ConnectionAuthType,
  RuleState,
  StoredApiDestination,
  StoredArchive,
  StoredConnection,
  StoredReplay,
} from "../../storage/meta/bus-store.js";
import { connectionSecretArn } from "../../events/bus-arns.js";
import {
  any,
  arn,
  bool,
  compact,
  description,
  epochSeconds,
  eventBusName,
  eventBusNameOrArn,
  eventPattern,
  int,
  limit,
  list,
  map,
  name,
  nextToken,
  req,
  str,
  struct,
  tags,
  timestamp,
  validate,
  type Member,
} from "./shapes.js";

/**
 * The EventBridge operations (awsJson1_1, `AWSEvents.<Op>`): each validates its input against
 * its shape (shapes.ts), calls the bus service (src/events/bus-service.ts) and shapes the
 * answer with AWS's member names. docs/events.md ("The EventBridge API") lists them.
 */

const ruleState = str({ enum: ["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"] });
const authType = str({ enum: ["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"] });
// AWS's order in its enum message.
const httpMethod = str({ enum: ["HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"] });
/** The model's HttpsEndpoint pattern (it does not check the scheme: the service does). */
const invocationEndpoint = str({
  min: 1,
  max: 2048,
  pattern: "^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@&=+$,A-Za-z0-9])+)([).!';/?:,])?$",
});
const connectionState = str({
  enum: ["CREATING", "UPDATING", "DELETING", "AUTHORIZED", "DEAUTHORIZED", "AUTHORIZING", "DEAUTHORIZING"],
});
const archiveState = str({
  enum: ["ENABLED", "DISABLED", "CREATING", "UPDATING", "CREATE_FAILED", "UPDATE_FAILED"],
});
const replayState = str({ enum: ["STARTING", "RUNNING", "CANCELLING", "COMPLETED", "CANCELLED", "FAILED"] });
const secret = str({ min: 1, max: 512 });
const stringMap = map(str({ max: 512 }), str({ max: 512 }));
/** An HTTP header's name and value as the model constrains them (targets' and connections'). */
const headerKey = str({ max: 512, pattern: "^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$" });
const headerValue = str({
  max: 512,
  pattern: "^[ \\t]*[\\x20-\\x7E]+([ \\t]+[\\x20-\\x7E]+)*[ \\t]*$",
  // The same strings (printable ASCII and tabs, one printable at least) without the pattern's
  // nested repetition, which backtracks exponentially on a failing value.
  test: (v) => /^[\t\x20-\x7E]*$/.test(v) && /[\x20-\x7E]/.test(v),
});

const target = struct(
  {
    Id: req(name()),
    Arn: req(arn),
    RoleArn: str({ min: 1, max: 1600 }),
    Input: str({ max: 8192 }),
    InputPath: str({ max: 256 }),
    InputTransformer: struct({
      InputPathsMap: map(str({ max: 256, pattern: "[A-Za-z0-9\\_\\-]+" }), str({ max: 256 }), 100),
      InputTemplate: req(str({ min: 1, max: 8192 })),
    }),
    RetryPolicy: struct({ MaximumRetryAttempts: int(0, 185), MaximumEventAgeInSeconds: int(60, 86400) }),
    DeadLetterConfig: struct({ Arn: str({ min: 1, max: 1600 }) }),
    HttpParameters: struct({
      PathParameterValues: list(str()),
      HeaderParameters: map(headerKey, headerValue),
      QueryStringParameters: stringMap,
    }),
    KinesisParameters: any,
    RunCommandParameters: any,
    EcsParameters: any,
    BatchParameters: any,
    SqsParameters: any,
    RedshiftDataParameters: any,
    SageMakerPipelineParameters: any,
    AppSyncParameters: any,
  },
  "Target",
);

const putEventsEntry = struct(
  {
    Time: timestamp,
    Source: str(),
    Resources: list(str({ max: 2048 })),
    DetailType: str(),
    Detail: str(),
    EventBusName: eventBusNameOrArn,
    TraceHeader: str({ min: 1, max: 500 }),
    KmsKeyIdentifier: any,
    InternalMetadata: any,
  },
  "PutEventsRequestEntry",
);

/** A connection's HTTP parameters (ConnectionHttpParameters of the model). */
const connectionParameter = (key: Member, value: Member) =>
  list(struct({ Key: key, Value: value, IsValueSecret: bool }), 0, 100);
const connectionHttpParameters = struct({
  HeaderParameters: connectionParameter(headerKey, headerValue),
  QueryStringParameters: connectionParameter(str({ max: 512 }), str({ max: 512 })),
  BodyParameters: connectionParameter(str({ max: 512 }), str({ max: 512 })),
});

/** AuthParameters; `complete` false for UpdateConnection, whose members are all optional. */
function authParameters(complete: boolean): Member {
  const r = (s: Member): Member => (complete ? req(s) : s);
  return struct({
    BasicAuthParameters: struct({ Username: r(secret), Password: r(secret) }),
    OAuthParameters: struct({
      ClientParameters: r(struct({ ClientID: r(secret), ClientSecret: r(secret) })),
      AuthorizationEndpoint: r(str({ min: 1, max: 2048 })),
      HttpMethod: r(str({ enum: ["GET", "POST", "PUT"] })),
      OAuthHttpParameters: connectionHttpParameters,
    }),
    ApiKeyAuthParameters: struct({ ApiKeyName: r(secret), ApiKeyValue: r(secret) }),
    InvocationHttpParameters: connectionHttpParameters,
  });
}

// --- output shapes -----------------------------------------------------------------------

function ruleShape(r: RuleView) {
  return compact({
    Name: r.name,
    Arn: r.arn,
    EventPattern: r.eventPattern,
    ScheduleExpression: r.scheduleExpression,
    State: r.state,
    Description: r.description,
    RoleArn: r.roleArn,
    EventBusName: r.bus,
  });
}

function connectionSummary(c: StoredConnection & { arn: string }) {
  return compact({
    ConnectionArn: c.arn,
    Name: c.name,
    ConnectionState: c.state,
    StateReason: c.stateReason,
    AuthorizationType: c.authorizationType,
    CreationTime: epochSeconds(c.createdAt),
    LastModifiedTime: epochSeconds(c.updatedAt),
    LastAuthorizedTime: epochSeconds(c.lastAuthorizedAt),
  });
}

/** What DescribeConnection shows of the auth parameters: never a secret (AWS keeps them in Secrets Manager). */
function publicAuth(auth: Record<string, unknown>): Record<string, unknown> {
  const o = (v: unknown) =>
    typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  const basic = o(auth.BasicAuthParameters);
  const key = o(auth.ApiKeyAuthParameters);
  const oauth = o(auth.OAuthParameters);
  return compact({
    BasicAuthParameters: basic && compact({ Username: basic.Username }),
    ApiKeyAuthParameters: key && compact({ ApiKeyName: key.ApiKeyName }),
    OAuthParameters:
      oauth &&
      compact({
        ClientParameters: compact({ ClientID: o(oauth.ClientParameters)?.ClientID }),
        AuthorizationEndpoint: oauth.AuthorizationEndpoint,
        HttpMethod: oauth.HttpMethod,
        OAuthHttpParameters: hideSecretValues(oauth.OAuthHttpParameters),
      }),
    InvocationHttpParameters: hideSecretValues(auth.InvocationHttpParameters),
  });
}

/**
 * Connection HTTP parameters (`{HeaderParameters, QueryStringParameters, BodyParameters}`, lists
 * of `{Key, Value, IsValueSecret}`) without the values marked secret, as AWS shows them.
 */
function hideSecretValues(p: unknown): unknown {
  if (typeof p !== "object" || p === null) return p;
  return Object.fromEntries(
    Object.entries(p as Record<string, unknown>).map(([k, list]) => [
      k,
      Array.isArray(list)
        ? list.map((e: unknown) => {
            if (typeof e !== "object" || e === null) return e;
            const { Value, ...rest } = e as Record<string, unknown>;
            return rest.IsValueSecret === true ? rest : { ...rest, Value };
          })
        : list,
    ]),
  );
}

function apiDestinationShape(d: StoredApiDestination & { arn: string }, connectionArn: string) {
  return compact({
    ApiDestinationArn: d.arn,
    Name: d.name,
    Description: d.description,
    ApiDestinationState: d.state,
    ConnectionArn: connectionArn,
    InvocationEndpoint: d.endpoint,
    HttpMethod: d.httpMethod,
    InvocationRateLimitPerSecond: d.invocationRateLimitPerSecond,
    CreationTime: epochSeconds(d.createdAt),
    LastModifiedTime: epochSeconds(d.updatedAt),
  });
}

function archiveShape(
  a: StoredArchive & { arn: string; eventCount: number; sizeBytes: number },
  sourceArn: string,
) {
  return compact({
    ArchiveArn: a.arn,
    ArchiveName: a.name,
    EventSourceArn: sourceArn,
    Description: a.description,
    EventPattern: a.eventPattern,
    State: a.state,
    RetentionDays: a.retentionDays,
    SizeBytes: a.sizeBytes,
    EventCount: a.eventCount,
    CreationTime: epochSeconds(a.createdAt),
  });
}

function replayShape(r: StoredReplay & { arn: string }, sourceArn: string) {
  return compact({
    ReplayName: r.name,
    ReplayArn: r.arn,
    Description: r.description,
    State: r.state,
    StateReason: r.stateReason,
    EventSourceArn: sourceArn,
    Destination: r.destination,
    EventStartTime: epochSeconds(r.eventStartTime),
    EventEndTime: epochSeconds(r.eventEndTime),
    EventLastReplayedTime: epochSeconds(r.eventLastReplayedTime),
    ReplayStartTime: epochSeconds(r.replayStartTime),
    ReplayEndTime: epochSeconds(r.replayEndTime),
  });
}

const failed = (entries: unknown[]) => ({ FailedEntryCount: entries.length, FailedEntries: entries });
/** Seconds (the wire) to epoch ms. */
const ms = (s: number) => Math.round(s * 1000);

/** The operations by name; BusError from the service becomes the AwsError it names. */
export function eventsOperations(bus: EventBusService): Record<string, Operation> {
  const id = bus.identity;
  const busArnOf = (b: string) => `arn:aws:events:${id.region}:${id.accountId}:event-bus/${b}`;
  const archiveArnOf = (a: string) => `arn:aws:events:${id.region}:${id.accountId}:archive/${a}`;
  const connectionArnOf = async (n: string) => (await bus.requireConnection(n)).arn;

  const ops: Record<string, Operation> = {
    // --- buses ---
    async CreateEventBus(raw) {
      const i = validate<{ Name: string; Description?: string; Tags?: Tags; EventSourceName?: string }>(
        {
          Name: req(eventBusName),
          EventSourceName: str({ min: 1, max: 256 }),
          Description: description,
          KmsKeyIdentifier: any,
          DeadLetterConfig: any,
          Tags: tags,
        },
        raw,
      );
      const r = await bus.createEventBus({ name: i.Name, description: i.Description, tags: i.Tags });
      return compact({ EventBusArn: r.arn, Description: i.Description });
    },
    async DescribeEventBus(raw) {
      const i = validate<{ Name?: string }>({ Name: eventBusNameOrArn }, raw);
      const b = await bus.describeEventBus(i.Name);
      return compact({
        Name: b.name,
        Arn: b.arn,
        Description: b.description,
        ...(b.name !== "default"
          ? { CreationTime: epochSeconds(b.createdAt), LastModifiedTime: epochSeconds(b.updatedAt) }
          : {}),
      });
    },
    async ListEventBuses(raw) {
      const i = validate<{ NamePrefix?: string; NextToken?: string; Limit?: number }>(
        {
          NamePrefix: str({ min: 1, max: 256, pattern: "[\\.\\-_A-Za-z0-9]+" }),
          NextToken: nextToken,
          Limit: limit,
        },
        raw,
      );
      const p = await bus.listEventBuses({
        namePrefix: i.NamePrefix,
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      return compact({
        EventBuses: p.items.map((b) =>
          compact({
            Name: b.name,
            Arn: b.arn,
            Description: b.description,
            ...(b.name !== "default"
              ? { CreationTime: epochSeconds(b.createdAt), LastModifiedTime: epochSeconds(b.updatedAt) }
              : {}),
          }),
        ),
        NextToken: p.nextToken,
      });
    },
    async DeleteEventBus(raw) {
      const i = validate<{ Name: string }>({ Name: req(eventBusName) }, raw);
      await bus.deleteEventBus(i.Name);
      return {};
    },

    // --- rules ---
    async PutRule(raw) {
      const i = validate<{
        Name: string;
        ScheduleExpression?: string;
        EventPattern?: string;
        State?: RuleState;
        Description?: string;
        RoleArn?: string;
        Tags?: Tags;
        EventBusName?: string;
      }>(
        {
          Name: req(name()),
          ScheduleExpression: str({ max: 256 }),
          EventPattern: eventPattern,
          State: ruleState,
          Description: description,
          RoleArn: str({ min: 1, max: 1600 }),
          Tags: tags,
          EventBusName: eventBusNameOrArn,
        },
        raw,
      );
      const r = await bus.putRule({
        name: i.Name,
        bus: i.EventBusName,
        eventPattern: i.EventPattern,
        scheduleExpression: i.ScheduleExpression,
        state: i.State,
        description: i.Description,
        roleArn: i.RoleArn,
        tags: i.Tags,
      });
      return { RuleArn: r.arn };
    },
    async DescribeRule(raw) {
      const i = validate<{ Name: string; EventBusName?: string }>(
        { Name: req(name()), EventBusName: eventBusNameOrArn },
        raw,
      );
      const r = await bus.describeRule(i.Name, i.EventBusName);
      return { ...ruleShape(r), CreatedBy: r.createdBy };
    },
    async ListRules(raw) {
      const i = validate<{ NamePrefix?: string; EventBusName?: string; NextToken?: string; Limit?: number }>(
        { NamePrefix: name(), EventBusName: eventBusNameOrArn, NextToken: nextToken, Limit: limit },
        raw,
      );
      const p = await bus.listRules({
        bus: i.EventBusName,
        namePrefix: i.NamePrefix,
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      return compact({ Rules: p.items.map(ruleShape), NextToken: p.nextToken });
    },
    async DeleteRule(raw) {
      const i = validate<{ Name: string; EventBusName?: string; Force?: boolean }>(
        { Name: req(name()), EventBusName: eventBusNameOrArn, Force: bool },
        raw,
      );
      await bus.deleteRule(i.Name, i.EventBusName, i.Force ?? false);
      return {};
    },
    async EnableRule(raw) {
      const i = validate<{ Name: string; EventBusName?: string }>(
        { Name: req(name()), EventBusName: eventBusNameOrArn },
        raw,
      );
      await bus.setRuleState(i.Name, i.EventBusName, "ENABLED");
      return {};
    },
    async DisableRule(raw) {
      const i = validate<{ Name: string; EventBusName?: string }>(
        { Name: req(name()), EventBusName: eventBusNameOrArn },
        raw,
      );
      await bus.setRuleState(i.Name, i.EventBusName, "DISABLED");
      return {};
    },

    // --- targets ---
    async PutTargets(raw) {
      const i = validate<{ Rule: string; EventBusName?: string; Targets: Record<string, unknown>[] }>(
        { Rule: req(name()), EventBusName: eventBusNameOrArn, Targets: req(list(target, 1, 100)) },
        raw,
      );
      return failed(await bus.putTargets(i.Rule, i.EventBusName, i.Targets.map(stripNulls)));
    },
    async ListTargetsByRule(raw) {
      const i = validate<{ Rule: string; EventBusName?: string; NextToken?: string; Limit?: number }>(
        { Rule: req(name()), EventBusName: eventBusNameOrArn, NextToken: nextToken, Limit: limit },
        raw,
      );
      const p = await bus.listTargetsByRule(i.Rule, i.EventBusName, {
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      return compact({ Targets: p.items, NextToken: p.nextToken });
    },
    async RemoveTargets(raw) {
      const i = validate<{ Rule: string; EventBusName?: string; Ids: string[]; Force?: boolean }>(
        {
          Rule: req(name()),
          EventBusName: eventBusNameOrArn,
          Ids: req(list(name(), 1, 100)),
          Force: bool,
        },
        raw,
      );
      return failed(await bus.removeTargets(i.Rule, i.EventBusName, i.Ids));
    },
    async ListRuleNamesByTarget(raw) {
      const i = validate<{ TargetArn: string; EventBusName?: string; NextToken?: string; Limit?: number }>(
        { TargetArn: req(arn), EventBusName: eventBusNameOrArn, NextToken: nextToken, Limit: limit },
        raw,
      );
      const p = await bus.listRuleNamesByTarget(i.TargetArn, i.EventBusName, {
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      return compact({ RuleNames: p.items, NextToken: p.nextToken });
    },

    // --- events ---
    async PutEvents(raw) {
      const i = validate<{ Entries: PutEventsEntry[] }>(
        { Entries: req(list(putEventsEntry, 1, 10)), EndpointId: any },
        raw,
      );
      const results = await bus.putEvents(i.Entries);
      return {
        FailedEntryCount: results.filter((r) => "ErrorCode" in r).length,
        Entries: results,
      };
    },
    async TestEventPattern(raw) {
      const i = validate<{ EventPattern: string; Event: string }>(
        { EventPattern: req(str()), Event: req(str()) },
        raw,
      );
      return { Result: bus.testEventPattern(i.EventPattern, i.Event) };
    },

    // --- connections ---
    async CreateConnection(raw) {
      const i = validate<{
        Name: string;
        Description?: string;
        AuthorizationType: ConnectionAuthType;
        AuthParameters: Record<string, unknown>;
      }>(
        {
          Name: req(name()),
          Description: description,
          AuthorizationType: req(authType),
          AuthParameters: req(authParameters(true)),
          InvocationConnectivityParameters: any,
          KmsKeyIdentifier: any,
        },
        raw,
      );
      const c = await bus.createConnection({
        name: i.Name,
        description: i.Description,
        authorizationType: i.AuthorizationType,
        authParameters: i.AuthParameters,
      });
      return compact({
        ConnectionArn: c.arn,
        ConnectionState: c.state,
        CreationTime: epochSeconds(c.createdAt),
        LastModifiedTime: epochSeconds(c.updatedAt),
      });
    },
    async DescribeConnection(raw) {
      const i = validate<{ Name: string }>({ Name: req(name()) }, raw);
      const c = await bus.requireConnection(i.Name);
      return compact({
        ...connectionSummary(c),
        Description: c.description,
        SecretArn: connectionSecretArn(id, c),
        AuthParameters: publicAuth(c.authParameters),
      });
    },
    async ListConnections(raw) {
      const i = validate<{
        NamePrefix?: string;
        ConnectionState?: string;
        NextToken?: string;
        Limit?: number;
      }>({ NamePrefix: name(), ConnectionState: connectionState, NextToken: nextToken, Limit: limit }, raw);
      const p = await bus.listConnections({
        namePrefix: i.NamePrefix,
        state: i.ConnectionState,
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      return compact({ Connections: p.items.map(connectionSummary), NextToken: p.nextToken });
    },
    async UpdateConnection(raw) {
      const i = validate<{
        Name: string;
        Description?: string;
        AuthorizationType?: ConnectionAuthType;
        AuthParameters?: Record<string, unknown>;
      }>(
        {
          Name: req(name()),
          Description: description,
          AuthorizationType: authType,
          AuthParameters: authParameters(false),
          InvocationConnectivityParameters: any,
          KmsKeyIdentifier: any,
        },
        raw,
      );
      const c = await bus.updateConnection({
        name: i.Name,
        description: i.Description,
        authorizationType: i.AuthorizationType,
        authParameters: i.AuthParameters,
      });
      return compact({
        ConnectionArn: c.arn,
        ConnectionState: c.state,
        CreationTime: epochSeconds(c.createdAt),
        LastModifiedTime: epochSeconds(c.updatedAt),
        LastAuthorizedTime: epochSeconds(c.lastAuthorizedAt),
      });
    },
    async DeleteConnection(raw) {
      const i = validate<{ Name: string }>({ Name: req(name()) }, raw);
      const c = await bus.deleteConnection(i.Name);
      return compact({
        ConnectionArn: c.arn,
        ConnectionState: c.state,
        CreationTime: epochSeconds(c.createdAt),
        LastModifiedTime: epochSeconds(c.updatedAt),
        LastAuthorizedTime: epochSeconds(c.lastAuthorizedAt),
      });
    },

    // --- API destinations ---
    async CreateApiDestination(raw) {
      const i = validate<{
        Name: string;
        Description?: string;
        ConnectionArn: string;
        InvocationEndpoint: string;
        HttpMethod: string;
        InvocationRateLimitPerSecond?: number;
      }>(
        {
          Name: req(name()),
          Description: description,
          ConnectionArn: req(arn),
          InvocationEndpoint: req(invocationEndpoint),
          HttpMethod: req(httpMethod),
          InvocationRateLimitPerSecond: int(1),
        },
        raw,
      );
      const d = await bus.createApiDestination({
        name: i.Name,
        description: i.Description,
        connectionArn: i.ConnectionArn,
        invocationEndpoint: i.InvocationEndpoint,
        httpMethod: i.HttpMethod,
        invocationRateLimitPerSecond: i.InvocationRateLimitPerSecond,
      });
      return compact({
        ApiDestinationArn: d.arn,
        ApiDestinationState: d.state,
        CreationTime: epochSeconds(d.createdAt),
        LastModifiedTime: epochSeconds(d.updatedAt),
      });
    },
    async DescribeApiDestination(raw) {
      const i = validate<{ Name: string }>({ Name: req(name()) }, raw);
      const d = await bus.requireApiDestination(i.Name);
      return apiDestinationShape(d, await connectionArnOf(d.connectionName));
    },
    async ListApiDestinations(raw) {
      const i = validate<{ NamePrefix?: string; ConnectionArn?: string; NextToken?: string; Limit?: number }>(
        { NamePrefix: name(), ConnectionArn: arn, NextToken: nextToken, Limit: limit },
        raw,
      );
      const p = await bus.listApiDestinations({
        namePrefix: i.NamePrefix,
        connectionArn: i.ConnectionArn,
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      const items = [];
      for (const d of p.items) {
        const { Description: _omit, ...shown } = apiDestinationShape(
          d,
          await connectionArnOf(d.connectionName),
        );
        items.push(shown);
      }
      return compact({ ApiDestinations: items, NextToken: p.nextToken });
    },
    async UpdateApiDestination(raw) {
      const i = validate<{
        Name: string;
        Description?: string;
        ConnectionArn?: string;
        InvocationEndpoint?: string;
        HttpMethod?: string;
        InvocationRateLimitPerSecond?: number;
      }>(
        {
          Name: req(name()),
          Description: description,
          ConnectionArn: arn,
          InvocationEndpoint: invocationEndpoint,
          HttpMethod: httpMethod,
          InvocationRateLimitPerSecond: int(1),
        },
        raw,
      );
      const d = await bus.updateApiDestination({
        name: i.Name,
        description: i.Description,
        connectionArn: i.ConnectionArn,
        invocationEndpoint: i.InvocationEndpoint,
        httpMethod: i.HttpMethod,
        invocationRateLimitPerSecond: i.InvocationRateLimitPerSecond,
      });
      return compact({
        ApiDestinationArn: d.arn,
        ApiDestinationState: d.state,
        CreationTime: epochSeconds(d.createdAt),
        LastModifiedTime: epochSeconds(d.updatedAt),
      });
    },
    async DeleteApiDestination(raw) {
      const i = validate<{ Name: string }>({ Name: req(name()) }, raw);
      await bus.deleteApiDestination(i.Name);
      return {};
    },

    // --- archives and replays ---
    async CreateArchive(raw) {
      const i = validate<{
        ArchiveName: string;
        EventSourceArn: string;
        Description?: string;
        EventPattern?: string;
        RetentionDays?: number;
      }>(
        {
          ArchiveName: req(name(48)),
          EventSourceArn: req(arn),
          Description: description,
          EventPattern: eventPattern,
          RetentionDays: int(0),
          KmsKeyIdentifier: any,
        },
        raw,
      );
      const a = await bus.createArchive({
        name: i.ArchiveName,
        eventSourceArn: i.EventSourceArn,
        description: i.Description,
        eventPattern: i.EventPattern,
        retentionDays: i.RetentionDays,
      });
      return { ArchiveArn: a.arn, State: a.state, CreationTime: epochSeconds(a.createdAt) };
    },
    async DescribeArchive(raw) {
      const i = validate<{ ArchiveName: string }>({ ArchiveName: req(name(48)) }, raw);
      const a = await bus.describeArchive(i.ArchiveName);
      return archiveShape(a, busArnOf(a.bus));
    },
    async ListArchives(raw) {
      const i = validate<{
        NamePrefix?: string;
        EventSourceArn?: string;
        State?: string;
        NextToken?: string;
        Limit?: number;
      }>(
        {
          NamePrefix: name(48),
          EventSourceArn: arn,
          State: archiveState,
          NextToken: nextToken,
          Limit: limit,
        },
        raw,
      );
      const p = await bus.listArchives({
        namePrefix: i.NamePrefix,
        eventSourceArn: i.EventSourceArn,
        state: i.State,
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      return compact({
        Archives: p.items.map((a) => {
          const {
            ArchiveArn: _a,
            Description: _d,
            EventPattern: _p,
            ...shown
          } = archiveShape(a, busArnOf(a.bus));
          return shown;
        }),
        NextToken: p.nextToken,
      });
    },
    async UpdateArchive(raw) {
      const i = validate<{
        ArchiveName: string;
        Description?: string;
        EventPattern?: string;
        RetentionDays?: number;
      }>(
        {
          ArchiveName: req(name(48)),
          Description: description,
          EventPattern: eventPattern,
          RetentionDays: int(0),
          KmsKeyIdentifier: any,
        },
        raw,
      );
      const a = await bus.updateArchive({
        name: i.ArchiveName,
        description: i.Description,
        eventPattern: i.EventPattern,
        retentionDays: i.RetentionDays,
      });
      return { ArchiveArn: a.arn, State: a.state, CreationTime: epochSeconds(a.createdAt) };
    },
    async DeleteArchive(raw) {
      const i = validate<{ ArchiveName: string }>({ ArchiveName: req(name(48)) }, raw);
      await bus.deleteArchive(i.ArchiveName);
      return {};
    },
    async StartReplay(raw) {
      const i = validate<{
        ReplayName: string;
        Description?: string;
        EventSourceArn: string;
        EventStartTime: number;
        EventEndTime: number;
        Destination: { Arn: string; FilterArns?: string[] };
      }>(
        {
          ReplayName: req(name()),
          Description: description,
          EventSourceArn: req(arn),
          EventStartTime: req(timestamp),
          EventEndTime: req(timestamp),
          Destination: req(struct({ Arn: req(arn), FilterArns: list(arn) })),
        },
        raw,
      );
      const r = await bus.startReplay({
        name: i.ReplayName,
        description: i.Description,
        eventSourceArn: i.EventSourceArn,
        eventStartTime: ms(i.EventStartTime),
        eventEndTime: ms(i.EventEndTime),
        destination: i.Destination,
      });
      return compact({
        ReplayArn: r.arn,
        State: r.state,
        StateReason: r.stateReason,
        ReplayStartTime: epochSeconds(r.replayStartTime),
      });
    },
    async DescribeReplay(raw) {
      const i = validate<{ ReplayName: string }>({ ReplayName: req(name()) }, raw);
      const r = await bus.describeReplay(i.ReplayName);
      return replayShape(r, archiveArnOf(r.archive));
    },
    async ListReplays(raw) {
      const i = validate<{
        NamePrefix?: string;
        State?: string;
        EventSourceArn?: string;
        NextToken?: string;
        Limit?: number;
      }>(
        { NamePrefix: name(), State: replayState, EventSourceArn: arn, NextToken: nextToken, Limit: limit },
        raw,
      );
      const p = await bus.listReplays({
        namePrefix: i.NamePrefix,
        state: i.State,
        eventSourceArn: i.EventSourceArn,
        limit: i.Limit,
        nextToken: i.NextToken,
      });
      return compact({
        Replays: p.items.map((r) => {
          const {
            ReplayArn: _a,
            Description: _d,
            Destination: _dest,
            ...shown
          } = replayShape(r, archiveArnOf(r.archive));
          return shown;
        }),
        NextToken: p.nextToken,
      });
    },
    async CancelReplay(raw) {
      const i = validate<{ ReplayName: string }>({ ReplayName: req(name()) }, raw);
      const r = await bus.cancelReplay(i.ReplayName);
      return compact({ ReplayArn: r.arn, State: r.state, StateReason: r.stateReason });
    },

    // --- tags ---
    async TagResource(raw) {
      const i = validate<{ ResourceARN: string; Tags: Tags }>(
        { ResourceARN: req(arn), Tags: req(tags) },
        raw,
      );
      await bus.tagResource(i.ResourceARN, i.Tags);
      return {};
    },
    async UntagResource(raw) {
      const i = validate<{ ResourceARN: string; TagKeys: string[] }>(
        { ResourceARN: req(arn), TagKeys: req(list(str({ min: 1, max: 128 }))) },
        raw,
      );
      await bus.untagResource(i.ResourceARN, i.TagKeys);
      return {};
    },
    async ListTagsForResource(raw) {
      const i = validate<{ ResourceARN: string }>({ ResourceARN: req(arn) }, raw);
      return { Tags: await bus.listTags(i.ResourceARN) };
    },
  };
  return Object.fromEntries(
    Object.entries(ops).map(([opName, op]) => [
      opName,
      async (input, ctx) => {
        try {
          return await op(input, ctx);
        } catch (e) {
          if (e instanceof BusError) throw new AwsError(e.code, e.message);
          throw e;
        }
      },
    ]),
  );
}

/** A Target as stored: members the SDK sent as null are left out. */
function stripNulls(t: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== null && v !== undefined));
}
