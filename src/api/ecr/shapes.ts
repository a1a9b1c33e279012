import { z } from "zod";
import { AwsError } from "../aws-json.js";

/**
 * Input shapes of the ECR operations (zod), with ECR's constraints, and the small helpers
 * every operation shares: validation errors, pagination tokens, ARNs and timestamps.
 */

export const REPOSITORY_NAME_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export const registryId = z.string().regex(/^[0-9]{12}$/, "must be 12 digits");
export const repositoryName = z
  .string()
  .min(2)
  .max(256)
  .regex(REPOSITORY_NAME_RE, "must match (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*");
export const imageTag = z.string().min(1).max(300);
export const imageDigest = z.string().min(1);
export const imageId = z.object({ imageDigest: imageDigest.optional(), imageTag: imageTag.optional() });
export type ImageId = z.infer<typeof imageId>;
export const maxResults = z.number().int().min(1).max(1000);
export const nextToken = z.string().min(1);
export const tagStatus = z.enum(["TAGGED", "UNTAGGED", "ANY"]);
export const imageTagMutability = z.enum([
  "MUTABLE",
  "IMMUTABLE",
  "IMMUTABLE_WITH_EXCLUSION",
  "MUTABLE_WITH_EXCLUSION",
]);
export const mutabilityExclusionFilters = z
  .array(
    z.object({
      filterType: z.literal("WILDCARD"),
      filter: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[0-9a-zA-Z._*-]+$/),
    }),
  )
  .min(1)
  .max(5);
export const scanningConfiguration = z.object({ scanOnPush: z.boolean().optional() });
export const repositoryFilter = z.object({
  filter: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/),
  filterType: z.literal("WILDCARD"),
});

/** Parses an operation's input; the first problem becomes InvalidParameterException naming the field. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.map(String).join(".") : "(request)";
  let reason = issue.message;
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) reason = "is required";
  throw new AwsError(
    "InvalidParameterException",
    `Invalid parameter at '${field}' failed to satisfy constraint: '${reason}'`,
  );
}

/** Opaque page tokens: base64url JSON of the last key returned. */
export function encodeToken(key: unknown): string {
  return Buffer.from(JSON.stringify({ k: key })).toString("base64url");
}

export function decodeToken<T>(token: string | undefined, check: (k: unknown) => k is T): T | undefined {
  if (token === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k?: unknown };
    if (check(v.k)) return v.k;
  } catch {
    /* fall through */
  }
  throw new AwsError(
    "InvalidParameterException",
    "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'",
  );
}

export const isString = (k: unknown): k is string => typeof k === "string";

/** Epoch seconds as JSON numbers (fractions allowed): what every AWS JSON protocol carries. */
export const epochSeconds = (ms: number) => ms / 1000;

export interface Registry {
  accountId: string;
  region: string;
}

export const repositoryArn = (r: Registry, name: string) =>
  `arn:aws:ecr:${r.region}:${r.accountId}:repository/${name}`;
export const repositoryUri = (r: Registry, name: string) =>
  `${r.accountId}.dkr.ecr.${r.region}.amazonaws.com/${name}`;

export function repositoryNotFound(r: Registry, name: string): AwsError {
  return new AwsError(
    "RepositoryNotFoundException",
    `The repository with name '${name}' does not exist in the registry with id '${r.accountId}'`,
  );
}

export function imageNotFound(r: Registry, name: string, id: ImageId): AwsError {
  const parts = [
    id.imageDigest !== undefined ? `imageDigest:'${id.imageDigest}'` : "",
    id.imageTag !== undefined ? `imageTag:'${id.imageTag}'` : "",
  ].filter(Boolean);
  return new AwsError(
    "ImageNotFoundException",
    `The image with imageId {${parts.join(", ")}} does not exist within the repository with name '${name}' in the registry with id '${r.accountId}'`,
  );
}

/** A request naming another registry id is about a registry we are not. */
export function checkRegistryId(r: Registry, id: string | undefined): void {
  if (id !== undefined && id !== r.accountId) {
    throw new AwsError(
      "InvalidParameterException",
      `Invalid parameter at 'registryId': this registry's id is '${r.accountId}', not '${id}'`,
    );
  }
}
