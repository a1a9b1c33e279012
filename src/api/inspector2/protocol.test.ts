import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AccessRules } from "../../auth/rules.js";
import { createLogger } from "../../core/logger.js";
import { createHttpServer } from "../../server.js";
import { AwsPrincipal, inspector2Access } from "../access.js";
import type { AwsAuthOptions } from "../aws-json.js";
import { INSPECTOR2_ROUTES } from "./operations.js";
import { registerInspector2Api } from "./protocol.js";
import { findingRecord, MemoryInspector2Backend } from "./testing.js";

/**
 * The Inspector2 restJson1 layer through Fastify inject on a server set up as `drydock serve`'s
 * (createHttpServer): routes, status codes and error headers, validation fields, authorization
 * as the caller's user, and bodies of any shape ending in a result or a ValidationException.
 */

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const R = { accountId: ACCOUNT, region: REGION };
const open = AwsPrincipal.unrestricted(ACCOUNT);
const alice = AwsPrincipal.user(
  ACCOUNT,
  "alice",
  new AccessRules([{ repository: "team/*", actions: ["pull"] }], "alice"),
  "AKIAALICE",
);
const admin = AwsPrincipal.user(
  ACCOUNT,
  "ops",
  new AccessRules([{ repository: "**", actions: ["pull", "push", "delete", "admin"] }], "ops"),
  "AKIAOPS",
);

describe("Inspector2 restJson1 protocol (inject)", () => {
  let app: FastifyInstance;
  let backend: MemoryInspector2Backend;
  let as: AwsPrincipal = open;
  let mode: AwsAuthOptions["mode"] = "open";

  beforeAll(async () => {
    backend = new MemoryInspector2Backend(R, () => 1_700_000_500_000);
    app = createHttpServer(createLogger("silent"));
    app.get("/v2/", async (_req, reply) => reply.send({}));
    registerInspector2Api(app, {
      backend,
      auth: {
        get mode() {
          return mode;
        },
        secretFor: () => undefined,
        principal: () => as,
      },
      registry: R,
      log: createLogger("silent"),
    });
    await app.ready();
  });
  afterAll(async () => app?.close());
  beforeEach(() => {
    as = open;
    mode = "open";
    backend.findings.length = 0;
    backend.filters.clear();
    backend.calls.length = 0;
    for (const [repo, sev] of [
      ["team/app", "HIGH"],
      ["team/app", "CRITICAL"],
      ["team/db", "LOW"],
      ["other/x", "CRITICAL"],
      ["other/y", "MEDIUM"],
    ] as const)
      backend.findings.push(findingRecord({ repositoryName: repo, reportedSeverity: sev }));
  });

  const call = async (path: string, body?: unknown, method: "POST" | "GET" | "DELETE" = "POST") => {
    const r = await app.inject({
      method,
      url: path,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { payload: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    return { status: r.statusCode, headers: r.headers, body: r.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it("ListFindings answers JSON with a request id, findings in the Inspector2 shape, and pages", async () => {
    const r = await call("/findings/list", {
      maxResults: 2,
      sortCriteria: { field: "SEVERITY", sortOrder: "DESC" },
    });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers["x-amzn-requestid"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.findings.map((f: { severity: string }) => f.severity)).toEqual(["CRITICAL", "CRITICAL"]);
    expect(r.body.findings[0].resources[0].type).toBe("AWS_ECR_CONTAINER_IMAGE");
    expect(typeof r.body.findings[0].firstObservedAt).toBe("number");
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const p = await call("/findings/list", { maxResults: 2, ...(token ? { nextToken: token } : {}) });
      seen.push(...p.body.findings.map((f: { findingArn: string }) => f.findingArn));
      token = p.body.nextToken;
    } while (token);
    expect(new Set(seen).size).toBe(5);
  });

  it("filterCriteria selects; unknown members are ignored", async () => {
    const r = await call("/findings/list", {
      filterCriteria: {
        severity: [{ comparison: "EQUALS", value: "CRITICAL" }],
        ecrImageRepositoryName: [{ comparison: "PREFIX", value: "team/" }],
        someFutureKey: [{ comparison: "EQUALS", value: "x" }],
      },
      alsoUnknown: true,
    });
    expect(r.status).toBe(200);
    expect(r.body.findings).toHaveLength(1);
    expect(r.body.findings[0].resources[0].details.awsEcrContainerImage.repositoryName).toBe("team/app");
  });

  it("ValidationException: 400, x-amzn-errortype, reason and every field by member path", async () => {
    const r = await call("/findings/list", {
      maxResults: 101,
      filterCriteria: {
        severity: [{ comparison: "LIKE", value: "HIGH" }],
        title: Array.from({ length: 11 }, () => ({ comparison: "EQUALS", value: "x" })),
        vulnerabilityId: [{ comparison: "EQUALS" }],
        firstObservedAt: [{ startInclusive: "2024-01-01" }],
      },
      sortCriteria: { field: "NAME", sortOrder: "ASC" },
    });
    expect(r.status).toBe(400);
    expect(r.headers["x-amzn-errortype"]).toBe("ValidationException");
    expect(r.body.__type).toBe("ValidationException");
    expect(r.body.reason).toBe("FIELD_VALIDATION_FAILED");
    expect(r.body.fields).toEqual(
      expect.arrayContaining([
        { name: "maxResults", message: "Member must have value less than or equal to 100" },
        {
          name: "filterCriteria.severity[0].comparison",
          message: "Member must satisfy enum value set: [EQUALS, PREFIX, NOT_EQUALS]",
        },
        { name: "filterCriteria.title", message: "Member must have length less than or equal to 10" },
        { name: "filterCriteria.vulnerabilityId[0].value", message: "Member must not be null" },
        { name: "filterCriteria.firstObservedAt[0].startInclusive", message: "Member must be a number" },
        {
          name: "sortCriteria.field",
          message: expect.stringMatching(/^Member must satisfy enum value set: \[AWS_ACCOUNT_ID/),
        },
      ]),
    );
    expect(r.body.fields).toHaveLength(6);
    expect(r.body.message).toMatch(
      /^6 validation errors detected: Value at 'maxResults' failed to satisfy constraint/,
    );
    expect(backend.calls).toEqual([]);
  });

  it("a body that is not a JSON object: ValidationException CANNOT_PARSE", async () => {
    for (const body of ["{", "[1]", '"x"', "null"]) {
      const r = await call("/findings/list", body);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ __type: "ValidationException", reason: "CANNOT_PARSE", fields: [] });
    }
  });

  it("readers see only repositories the caller may pull; a filter naming others matches nothing", async () => {
    as = alice;
    const r = await call("/findings/list", {});
    const repos = r.body.findings.map(
      (f: { resources: { details: { awsEcrContainerImage: { repositoryName: string } } }[] }) =>
        f.resources[0]!.details.awsEcrContainerImage.repositoryName,
    );
    expect(new Set(repos)).toEqual(new Set(["team/app", "team/db"]));
    const other = await call("/findings/list", {
      filterCriteria: { ecrImageRepositoryName: [{ comparison: "EQUALS", value: "other/x" }] },
    });
    expect(other.body.findings).toEqual([]);
    const agg = await call("/findings/aggregation/list", { aggregationType: "REPOSITORY" });
    expect(
      agg.body.responses.map(
        (x: { repositoryAggregation: { repository: string } }) => x.repositoryAggregation.repository,
      ),
    ).toEqual(["team/app", "team/db"]);
    const otherArn = backend.findings.find((f) => f.repositoryName === "other/x")!.findingArn;
    const det = await call("/findings/details/batch/get", { findingArns: [otherArn] });
    expect(det.body).toEqual({
      findingDetails: [],
      errors: [
        { findingArn: otherArn, errorCode: "FINDING_DETAILS_NOT_FOUND", errorMessage: "No such finding." },
      ],
    });
  });

  it("admin operations: 403 AccessDeniedException with IAM's message for a user without admin, nothing changes", async () => {
    as = alice;
    const r = await call("/filters/create", {
      name: "f",
      action: "SUPPRESS",
      filterCriteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] },
    });
    expect(r.status).toBe(403);
    expect(r.headers["x-amzn-errortype"]).toBe("AccessDeniedException");
    expect(r.body).toEqual({
      __type: "AccessDeniedException",
      message: `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: inspector2:CreateFilter on resource: * because no access rule of user alice allows admin (a rule {repository: "**", actions: [admin]})`,
    });
    for (const [path, body] of [
      ["/filters/list", {}],
      ["/configuration/update", { ecrConfiguration: { rescanDuration: "DAYS_30" } }],
      ["/enable", { resourceTypes: ["ECR"] }],
      ["/reporting/create", { reportFormat: "CSV", s3Destination: { bucketName: "b", kmsKeyArn: "k" } }],
    ] as const)
      expect((await call(path, body)).status).toBe(403);
    expect(backend.filters.size).toBe(0);
    expect(backend.calls).toEqual([]);
    // Registry-wide reads are open to any key.
    expect((await call("/configuration/get", {})).status).toBe(200);
    expect((await call("/status/batch/get", {})).status).toBe(200);
  });

  it("suppression filters: create, list (`criteria`, epoch seconds), suppress, update, delete, 404 after", async () => {
    as = admin;
    const c = await call("/filters/create", {
      name: "low noise",
      action: "SUPPRESS",
      reason: "accepted risk",
      filterCriteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] },
      tags: { owner: "ops" },
    });
    expect(c.status).toBe(200);
    const arn: string = c.body.arn;
    expect(arn).toMatch(
      new RegExp(`^arn:aws:inspector2:${REGION}:${ACCOUNT}:owner/${ACCOUNT}/filter/[0-9a-f]{16}$`),
    );
    const l = await call("/filters/list", {});
    expect(l.body.filters).toEqual([
      {
        arn,
        ownerId: ACCOUNT,
        name: "low noise",
        criteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] },
        action: "SUPPRESS",
        createdAt: 1_700_000_500,
        updatedAt: 1_700_000_500,
        reason: "accepted risk",
        tags: { owner: "ops" },
      },
    ]);
    const suppressed = await call("/findings/list", {
      filterCriteria: { findingStatus: [{ comparison: "EQUALS", value: "SUPPRESSED" }] },
    });
    expect(suppressed.body.findings.map((f: { severity: string }) => f.severity)).toEqual(["LOW"]);
    expect((await call("/filters/update", { filterArn: arn, action: "NONE" })).body).toEqual({ arn });
    expect(backend.findings.every((f) => f.status === "ACTIVE")).toBe(true);
    expect((await call("/filters/delete", { arn })).body).toEqual({ arn });
    const gone = await call("/filters/delete", { arn });
    expect(gone.status).toBe(404);
    expect(gone.headers["x-amzn-errortype"]).toBe("ResourceNotFoundException");
    const dup = await call("/filters/create", { name: "x", action: "NONE", filterCriteria: {} });
    expect(dup.body.fields).toEqual([
      { name: "filterCriteria", message: expect.stringMatching(/^Member must set at least one filter/) },
    ]);
  });

  it("tags: the ARN as a URI label, tagKeys in the query", async () => {
    as = admin;
    const { arn } = (
      await call("/filters/create", {
        name: "t",
        action: "NONE",
        filterCriteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] },
      })
    ).body as { arn: string };
    const path = `/tags/${encodeURIComponent(arn)}`;
    expect((await call(path, { tags: { a: "1", b: "2", c: "3" } })).status).toBe(200);
    expect((await call(`${path}?tagKeys=a&tagKeys=b`, undefined, "DELETE")).status).toBe(200);
    expect((await call(path, undefined, "GET")).body).toEqual({ tags: { c: "3" } });
    const bad = await call(`${path}?tagKeys=aws%3Ax`, undefined, "DELETE");
    expect(bad.body.fields[0].name).toBe("tagKeys[0]");
    const unknown = await call(`/tags/${encodeURIComponent(arn + "0")}`, undefined, "GET");
    expect(unknown.status).toBe(404);
  });

  it("aggregations: the request member must match the type; other resource kinds answer empty", async () => {
    const r = await call("/findings/aggregation/list", {
      aggregationType: "REPOSITORY",
      aggregationRequest: { packageAggregation: {} },
    });
    expect(r.body.fields).toEqual([
      {
        name: "aggregationRequest.packageAggregation",
        message: "Member must be repositoryAggregation for aggregationType REPOSITORY",
      },
    ]);
    expect((await call("/findings/aggregation/list", { aggregationType: "AMI" })).body).toEqual({
      aggregationType: "AMI",
      responses: [],
    });
    const img = await call("/findings/aggregation/list", {
      aggregationType: "AWS_ECR_CONTAINER",
      aggregationRequest: {
        awsEcrContainerAggregation: { repositories: [{ comparison: "EQUALS", value: "team/app" }] },
      },
    });
    expect(img.body.responses).toEqual([
      {
        awsEcrContainerAggregation: expect.objectContaining({
          repository: "team/app",
          severityCounts: { all: 2, medium: 0, high: 1, critical: 1 },
        }),
      },
    ]);
  });

  it("configuration, enable and account status round-trip", async () => {
    as = admin;
    expect(
      (
        await call("/configuration/update", {
          ecrConfiguration: { rescanDuration: "DAYS_30", pullDateRescanDuration: "DAYS_14" },
        })
      ).body,
    ).toEqual({});
    expect((await call("/configuration/get")).body).toEqual({
      ecrConfiguration: {
        rescanDurationState: {
          rescanDuration: "DAYS_30",
          pullDateRescanDuration: "DAYS_14",
          status: "SUCCESS",
          updatedAt: 1_700_000_500,
        },
      },
    });
    const e = await call("/enable", { resourceTypes: ["ECR"], accountIds: [ACCOUNT, "111111111111"] });
    expect(e.body.accounts).toEqual([
      {
        accountId: ACCOUNT,
        status: "ENABLED",
        resourceStatus: {
          ec2: "DISABLED",
          ecr: "ENABLED",
          lambda: "DISABLED",
          lambdaCode: "DISABLED",
          codeRepository: "DISABLED",
        },
      },
    ]);
    expect(e.body.failedAccounts).toEqual([
      expect.objectContaining({ accountId: "111111111111", errorCode: "ACCESS_DENIED" }),
    ]);
    expect((await call("/status/batch/get", {})).body.accounts[0].state).toEqual({ status: "ENABLED" });
    expect((await call("/disable", {})).body.accounts[0].status).toBe("DISABLED");
  });

  it("authentication failures are 403 with the AWS error name", async () => {
    mode = "closed";
    const r = await call("/findings/list", {});
    expect([r.status, r.headers["x-amzn-errortype"]]).toEqual([403, "UnrecognizedClientException"]);
    mode = "sigv4";
    const m = await call("/findings/list", {});
    expect([m.status, m.body.__type]).toEqual([403, "MissingAuthenticationTokenException"]);
  });

  it("leaves other routes alone, and unknown paths are the server's 404", async () => {
    expect((await app.inject({ method: "GET", url: "/v2/" })).statusCode).toBe(200);
    expect((await app.inject({ method: "POST", url: "/findings/nope", payload: "{}" })).statusCode).toBe(404);
  });

  it("every route's operation is in the access table (an operation missing there is refused to all)", () => {
    const table = inspector2Access();
    for (const r of INSPECTOR2_ROUTES) expect(Object.hasOwn(table, r.name), r.name).toBe(true);
  });

  it("any JSON body ends in 200 or a 4xx AWS error, never a 500", async () => {
    const paths = [
      "/findings/list",
      "/findings/aggregation/list",
      "/findings/details/batch/get",
      "/filters/create",
      "/filters/list",
      "/filters/update",
      "/filters/delete",
      "/reporting/create",
      "/reporting/status/get",
      "/reporting/cancel",
      "/sbomexport/create",
      "/sbomexport/get",
      "/configuration/update",
      "/coverage/list",
      "/coverage/statistics/list",
      "/enable",
      "/disable",
      "/status/batch/get",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.oneof(fc.jsonValue(), fc.object()),
        async (path, body) => {
          const r = await call(path, JSON.stringify(body));
          expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
          if (r.status !== 200) {
            expect(r.headers["x-amzn-errortype"]).toBe(r.body.__type);
            expect(["ValidationException", "ResourceNotFoundException", "BadRequestException"]).toContain(
              r.body.__type,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
