import type { z } from "zod";
import { validationError, type ValidationField } from "./errors.js";

/**
 * Request validation: a zod schema per operation (shapes.ts) mirroring the Smithy model's
 * constraints; every problem becomes a `fields` entry of one ValidationException, named by its
 * member path (`filterCriteria.severity[0].comparison`) with the model's constraint wording
 * (`Member must have length less than or equal to 1024`). Unknown members are dropped (zod
 * objects strip them), as AWS tolerates them; JSON `null` members are absent, as AWS's
 * deserializers read them.
 */

/** `a.b[0].c` from a zod path. */
export function memberPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "a boolean",
  object: "an object",
  array: "a list",
  record: "a map",
};

/** The model's wording of one zod issue. */
function issueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case "invalid_type": {
      if (valueAt(input, issue.path) === undefined) return "Member must not be null";
      return `Member must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    }
    case "too_small":
      if (issue.origin === "string")
        return `Member must have length greater than or equal to ${issue.minimum}`;
      if (issue.origin === "array" || issue.origin === "set")
        return `Member must have length greater than or equal to ${issue.minimum}`;
      return `Member must have value greater than or equal to ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "string") return `Member must have length less than or equal to ${issue.maximum}`;
      if (issue.origin === "array" || issue.origin === "set")
        return `Member must have length less than or equal to ${issue.maximum}`;
      return `Member must have value less than or equal to ${issue.maximum}`;
    case "invalid_value":
      return `Member must satisfy enum value set: [${issue.values.map(String).join(", ")}]`;
    case "invalid_format":
      return issue.message.startsWith("Member")
        ? issue.message
        : `Member must satisfy regular expression pattern: ${"pattern" in issue ? String(issue.pattern) : issue.format}`;
    default:
      return issue.message.startsWith("Member") ? issue.message : `Member is invalid: ${issue.message}`;
  }
}

/** Removes `null` object members (recursively): absent, as AWS reads them. Lists keep their items. */
export function dropNulls(v: unknown, depth = 0): unknown {
  if (depth > 64 || v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => dropNulls(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x, depth + 1);
  return out;
}

/** The typed request, or a ValidationException naming every invalid member. */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const cleaned = dropNulls(input);
  const r = schema.safeParse(cleaned);
  if (r.success) return r.data;
  const fields: ValidationField[] = [];
  const seen = new Set<string>();
  for (const issue of r.error.issues) {
    const name = memberPath(issue.path) || "(request)";
    const message = issueMessage(issue, cleaned);
    const key = `${name}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fields.push({ name, message });
  }
  throw validationError(fields);
}
