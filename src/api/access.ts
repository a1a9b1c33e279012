import type { AccessRules } from "../auth/rules.js";
import type { RepositoryAction } from "../auth/types.js";
import { AwsError } from "./aws-json.js";

/**
 * Who may call which AWS API operation: the one place where an operation's input becomes what
 * it needs (an action on a resource), and where that is checked against the caller's rules.
 * Every AWS API (ECR here; Inspector2 and EventBridge next) declares a table
 * `operation → needs(input)` and calls `authorize` before running the operation; the operation
 * itself gets the principal only to filter what it lists.
 *
 * The caller is the auth user its access key names (`aws.credentials[].user`), with that user's
 * rules (`auth.users[].access`). Without `auth.users` (loopback only) every caller is unrestricted.
 */

/** What one operation needs, with the resource named in an AccessDeniedException. */
export type Need =
  /** A repository action on a named repository (resource: the repository's ARN). */
  | { action: RepositoryAction; repository: string; resource: string }
  /** Registry-wide configuration: a rule with `admin` (resource `*` or the configuration's ARN). */
  | { action: "admin"; resource: string };

/**
 * An operation's needs, read from its raw input before the operation validates it. An empty
 * list means any authenticated caller. Names are taken only where they are strings: an input
 * the operation will refuse anyway (a missing or mistyped name) needs nothing more here, so
 * its caller gets the operation's InvalidParameterException, never a result.
 */
export type OperationAccess = (input: Record<string, unknown>) => Need[];

/** A service's operations (by name) and what each needs. */
export type AccessTable = Readonly<Record<string, OperationAccess>>;

/** The caller of an AWS API request, as the signing key's user. */
export class AwsPrincipal {
  private constructor(
    /** The auth user the key acts as (null: none named). */
    readonly user: string | null,
    /** The key that signed the request (undefined on an open API). */
    readonly accessKeyId: string | undefined,
    /** The IAM-shaped ARN in error messages: `arn:aws:iam::ACCOUNT:user/NAME` (or `:root`). */
    readonly arn: string,
    /** The user's rules; null when unrestricted (a registry without auth.users). */
    private readonly rules: AccessRules | null,
  ) {}

  /** A caller on a registry without users: everything is allowed (loopback only). */
  static unrestricted(accountId: string, accessKeyId?: string, user?: string): AwsPrincipal {
    const arn = user ? `arn:aws:iam::${accountId}:user/${user}` : `arn:aws:iam::${accountId}:root`;
    return new AwsPrincipal(user ?? null, accessKeyId, arn, null);
  }

  /** A key acting as a configured user, with that user's rules. */
  static user(accountId: string, user: string, rules: AccessRules, accessKeyId?: string): AwsPrincipal {
    return new AwsPrincipal(user, accessKeyId, `arn:aws:iam::${accountId}:user/${user}`, rules);
  }

  get restricted(): boolean {
    return this.rules !== null;
  }

  /** May this caller do `action` on the repository? */
  may(action: RepositoryAction, repository: string): boolean {
    return this.rules === null || this.rules.actionsFor(repository).has(action);
  }

  /** May this caller change registry-wide configuration? */
  get admin(): boolean {
    return this.rules === null || this.rules.mayAdminister();
  }

  /** True when every repository is readable: listings need no filtering. */
  get pullsEverything(): boolean {
    return this.rules === null || this.rules.mayPullEverything();
  }

  /** Whether the caller meets one need. */
  meets(need: Need): boolean {
    return need.action === "admin" ? this.admin : this.may(need.action, need.repository);
  }
}

/**
 * AWS's AccessDeniedException (HTTP 400 in the JSON protocols), with IAM's message and the
 * Drydock rule that is missing: `User: arn:aws:iam::ACCOUNT:user/alice is not authorized to
 * perform: ecr:DescribeImages on resource: arn:aws:ecr:REGION:ACCOUNT:repository/other/x because
 * no access rule of user alice allows pull on other/x`.
 */
export function accessDenied(p: AwsPrincipal, iamAction: string, need: Need | null): AwsError {
  const who = p.user === null ? "the caller" : `user ${p.user}`;
  const because =
    need === null
      ? `${iamAction} is not in Drydock's access table`
      : need.action === "admin"
        ? `no access rule of ${who} allows admin (a rule {repository: "**", actions: [admin]})`
        : `no access rule of ${who} allows ${need.action} on ${need.repository}`;
  return new AwsError(
    "AccessDeniedException",
    `User: ${p.arn} is not authorized to perform: ${iamAction} on resource: ${need?.resource ?? "*"} because ${because}`,
  );
}

/**
 * Checks an operation of a service against its table: throws AccessDeniedException for the
 * first need the caller does not meet. An operation missing from the table is refused to
 * everyone (fail closed): adding an operation means deciding what it needs.
 *
 * @param iamPrefix the IAM service prefix of the actions (`ecr`, `inspector2`, `events`)
 */
export function authorize(
  p: AwsPrincipal,
  table: AccessTable,
  iamPrefix: string,
  operation: string,
  input: Record<string, unknown>,
): void {
  const iamAction = `${iamPrefix}:${operation}`;
  const needsOf = Object.hasOwn(table, operation) ? table[operation] : undefined;
  if (!needsOf) throw accessDenied(p, iamAction, null);
  for (const need of needsOf(input)) if (!p.meets(need)) throw accessDenied(p, iamAction, need);
}

// --- building tables ---------------------------------------------------------------------

/** Any authenticated caller (registry-wide reads, GetAuthorizationToken). */
export const anyCaller: OperationAccess = () => [];

/** `action` on the repository of a string field (`repositoryName` by default). */
export function onRepository(
  action: RepositoryAction,
  arnOf: (repository: string) => string,
  field = "repositoryName",
): OperationAccess {
  return (input) => {
    const name = input[field];
    return typeof name === "string" ? [{ action, repository: name, resource: arnOf(name) }] : [];
  };
}

/** `action` on every repository of a list field (`repositoryNames` by default). */
export function onRepositories(
  action: RepositoryAction,
  arnOf: (repository: string) => string,
  field = "repositoryNames",
): OperationAccess {
  return (input) => {
    const names = input[field];
    if (!Array.isArray(names)) return [];
    return names
      .filter((n): n is string => typeof n === "string")
      .map((name) => ({ action, repository: name, resource: arnOf(name) }));
  };
}

/** Registry-wide configuration: `admin`. */
export function registryAdmin(resource = "*"): OperationAccess {
  return () => [{ action: "admin", resource }];
}

// --- the tables ----------------------------------------------------------------------------

/**
 * ECR: each operation's IAM action (`ecr:<Operation>`) and the Drydock action it needs
 * (docs/access.md has this table with the reasons). Reading a repository's images, findings or
 * settings is `pull`; changing its images or its scan-on-push flag, and creating it, `push`;
 * deleting images or the repository, and changing tag mutability (which only protects tags from
 * callers who cannot delete them), `delete`; registry-wide configuration `admin`. Registry-wide
 * reads (DescribeRegistry, GetRegistryScanningConfiguration) and GetAuthorizationToken (whose
 * password carries the same user's rules) are open to any authenticated caller.
 * DescribeRepositories without names lists only the repositories the caller may pull.
 * Operations Drydock does not implement yet are listed with what they will need.
 */
export function ecrAccess(r: { region: string; accountId: string }): AccessTable {
  const arn = (name: string) => `arn:aws:ecr:${r.region}:${r.accountId}:repository/${name}`;
  const pull = onRepository("pull", arn);
  const push = onRepository("push", arn);
  const del = onRepository("delete", arn);
  const admin = registryAdmin();
  return {
    // Repositories.
    CreateRepository: push,
    DescribeRepositories: (input) =>
      // Named: pull on each. Without names: any caller, and the list is filtered.
      input.repositoryNames === undefined ? [] : onRepositories("pull", arn)(input),
    DeleteRepository: del,
    PutImageScanningConfiguration: push,
    PutImageTagMutability: del,
    BatchGetRepositoryScanningConfiguration: onRepositories("pull", arn),
    // Images.
    ListImages: pull,
    DescribeImages: pull,
    BatchGetImage: pull,
    BatchDeleteImage: del,
    PutImage: push,
    BatchCheckLayerAvailability: pull,
    GetDownloadUrlForLayer: pull,
    InitiateLayerUpload: push,
    UploadLayerPart: push,
    CompleteLayerUpload: push,
    // Scans.
    StartImageScan: push,
    DescribeImageScanFindings: pull,
    // Lifecycle policies delete images: setting one is `delete`.
    GetLifecyclePolicy: pull,
    GetLifecyclePolicyPreview: pull,
    StartLifecyclePolicyPreview: pull,
    PutLifecyclePolicy: del,
    DeleteLifecyclePolicy: del,
    // Repository policies grant access: only admins change them.
    GetRepositoryPolicy: pull,
    SetRepositoryPolicy: admin,
    DeleteRepositoryPolicy: admin,
    // The registry.
    GetAuthorizationToken: anyCaller,
    DescribeRegistry: anyCaller,
    GetRegistryScanningConfiguration: anyCaller,
    PutRegistryScanningConfiguration: admin,
    GetRegistryPolicy: admin,
    PutRegistryPolicy: admin,
    DeleteRegistryPolicy: admin,
    PutReplicationConfiguration: admin,
  };
}

/**
 * Inspector2 (docs/inspector2-api.md, docs/access.md): reading findings, aggregations, finding
 * details and coverage is open to any key, and each of them shows only the repositories the
 * caller may `pull` (the operation filters with the principal, as DescribeRepositories without
 * names does; the request names no repository to check up front, and a repository named in a
 * filter the caller may not pull simply matches nothing). Suppression filters, reports, SBOM
 * exports, scanning configuration changes, Enable/Disable and filter tags are registry-wide:
 * `admin` (filters and reports read or hide findings of every repository). GetConfiguration and
 * BatchGetAccountStatus are registry-wide reads that hold no secret: any key, like ECR's
 * GetRegistryScanningConfiguration.
 */
export function inspector2Access(): AccessTable {
  const admin = registryAdmin();
  return {
    // Findings, filtered to the repositories the caller may pull.
    ListFindings: anyCaller,
    ListFindingAggregations: anyCaller,
    BatchGetFindingDetails: anyCaller,
    ListCoverage: anyCaller,
    ListCoverageStatistics: anyCaller,
    // Suppression filters and their tags.
    CreateFilter: admin,
    ListFilters: admin,
    UpdateFilter: admin,
    DeleteFilter: admin,
    ListTagsForResource: admin,
    TagResource: admin,
    UntagResource: admin,
    // Reports and SBOM exports of every repository.
    CreateFindingsReport: admin,
    GetFindingsReportStatus: admin,
    CancelFindingsReport: admin,
    CreateSbomExport: admin,
    GetSbomExport: admin,
    CancelSbomExport: admin,
    // Scanning configuration and activation.
    GetConfiguration: anyCaller,
    UpdateConfiguration: admin,
    Enable: admin,
    Disable: admin,
    BatchGetAccountStatus: anyCaller,
  };
}
