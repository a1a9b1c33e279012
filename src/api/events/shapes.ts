import { AwsError } from "../aws-json.js";

/**
 * Input shapes of the EventBridge operations and their validation as EventBridge does it: every
 * member's constraint is checked and the failures are reported together, in AWS's words
 * ("2 validation errors detected: Value 'x y' at 'name' failed to satisfy constraint: Member
 * must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+; ..."), with the member paths in
 * AWS's spelling (lower camel case, list items as `targets.1.member.id`). A member of the wrong
 * JSON type is a SerializationException, as AWS's deserializer answers it. Unknown members
 * are ignored (SDKs newer than the model may send them).
 */

export type Spec =
  | {
      t: "string";
      min?: number;
      max?: number;
      /** The model's pattern, as AWS's message quotes it. */
      pattern?: string;
      /**
       * A test equivalent to `pattern`, for a pattern that backtracks badly in JavaScript's
       * engine on hostile input (the message still quotes `pattern`).
       */
      test?: (s: string) => boolean;
      enum?: readonly string[];
    }
  | { t: "int"; min?: number; max?: number }
  | { t: "bool" }
  | { t: "timestamp" }
  | { t: "list"; of: Spec; min?: number; max?: number }
  | { t: "map"; key: Spec; value: Spec; max?: number }
  | { t: "struct"; members: Record<string, Member>; javaName?: string }
  /** Any JSON value, stored as given (target parameters Drydock does not use). */
  | { t: "any" };

export type Member = Spec & { required?: boolean };

/** Helpers to write shapes briefly. */
export const str = (o: Omit<Extract<Spec, { t: "string" }>, "t"> = {}): Spec => ({ t: "string", ...o });
export const int = (min?: number, max?: number): Spec => ({ t: "int", min, max });
export const bool: Spec = { t: "bool" };
export const timestamp: Spec = { t: "timestamp" };
export const any: Spec = { t: "any" };
export const list = (of: Spec, min?: number, max?: number): Spec => ({ t: "list", of, min, max });
export const map = (key: Spec, value: Spec, max?: number): Spec => ({ t: "map", key, value, max });
export const struct = (members: Record<string, Member>, javaName?: string): Spec => ({
  t: "struct",
  members,
  javaName,
});
export const req = (s: Spec): Member => ({ ...s, required: true });

/** EventBridge's names: rules, targets' ids, connections, API destinations, replays. */
export const NAME_PATTERN = "[\\.\\-_A-Za-z0-9]+";
export const name = (max = 64) => str({ min: 1, max, pattern: NAME_PATTERN });
export const eventBusNameOrArn = str({
  min: 1,
  max: 1600,
  pattern: "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\/\\.\\-_A-Za-z0-9]+",
});
export const eventBusName = str({ min: 1, max: 256, pattern: "[/\\.\\-_A-Za-z0-9]+" });
export const arn = str({ min: 1, max: 1600 });
export const nextToken = str({ min: 1, max: 2048 });
export const limit = int(1, 100);
export const description = str({ max: 512 });
export const eventPattern = str({ max: 4096 });
export const tags = list(struct({ Key: req(str({ min: 1, max: 128 })), Value: req(str({ max: 256 })) }));

/** AWS's member path segment: the member name with its first letter lower-cased. */
const camel = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** A value as Java's toString shows it in AWS's messages. */
function show(v: unknown, spec: Spec): string {
  if (v === undefined || v === null) return "null";
  if (spec.t === "list" && Array.isArray(v)) return `[${v.map((x) => show(x, spec.of)).join(", ")}]`;
  if (spec.t === "struct" && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const inner = Object.entries(spec.members)
      .map(([k, s]) => `${camel(k)}=${show(o[k], s)}`)
      .join(", ");
    return `${spec.javaName ?? ""}(${inner})`;
  }
  if (spec.t === "map" && typeof v === "object")
    return `{${Object.entries(v as object)
      .map(([k, x]) => `${k}=${show(x, spec.value)}`)
      .join(", ")}}`;
  return String(v);
}

/** Patterns compiled once (PutEvents checks one per entry on a hot path). */
const compiled = new Map<string, RegExp>();
function anchored(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) compiled.set(pattern, (re = new RegExp(`^(?:${pattern})$`, "s")));
  return re;
}

function serialization(path: string, expected: string): AwsError {
  return new AwsError(
    "SerializationException",
    `Unexpected value type at '${path || "(request)"}': expected ${expected}.`,
  );
}

function check(v: unknown, spec: Member, path: string, errors: string[]): void {
  const fail = (constraint: string) =>
    errors.push(
      `Value ${v === undefined || v === null ? "null" : `'${show(v, spec)}'`} at '${path}' failed to satisfy constraint: Member must ${constraint}`,
    );
  if (v === undefined || v === null) {
    if (spec.required) fail("not be null");
    return;
  }
  switch (spec.t) {
    case "string": {
      if (typeof v !== "string") throw serialization(path, "a string");
      // PostgreSQL's text cannot hold U+0000 (Drydock's stores run on it): refused everywhere.
      if (v.includes("\u0000")) fail("not contain the character U+0000");
      if (spec.enum && !spec.enum.includes(v)) fail(`satisfy enum value set: [${spec.enum.join(", ")}]`);
      if (spec.pattern !== undefined && !(spec.test ? spec.test(v) : anchored(spec.pattern).test(v)))
        fail(`satisfy regular expression pattern: ${spec.pattern}`);
      const len = [...v].length;
      if (spec.min !== undefined && len < spec.min) fail(`have length greater than or equal to ${spec.min}`);
      if (spec.max !== undefined && len > spec.max) fail(`have length less than or equal to ${spec.max}`);
      return;
    }
    case "int":
      // The model's integers are Java's (32 bits): a larger number does not deserialize.
      if (typeof v !== "number" || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
        throw serialization(path, "an integer");
      if (spec.min !== undefined && v < spec.min) fail(`have value greater than or equal to ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) fail(`have value less than or equal to ${spec.max}`);
      return;
    case "bool":
      if (typeof v !== "boolean") throw serialization(path, "a boolean");
      return;
    case "timestamp":
      if (typeof v !== "number" || !Number.isFinite(v))
        throw serialization(path, "a timestamp (epoch seconds)");
      return;
    case "list":
      if (!Array.isArray(v)) throw serialization(path, "a list");
      // JSON nulls are absent values (as AWS's deserializer reads them): gone before anything
      // downstream sees them, in lists, maps and structures alike.
      for (let i = v.length - 1; i >= 0; i--) if (v[i] === null) v.splice(i, 1);
      if (spec.min !== undefined && v.length < spec.min)
        fail(`have length greater than or equal to ${spec.min}`);
      if (spec.max !== undefined && v.length > spec.max)
        fail(`have length less than or equal to ${spec.max}`);
      v.forEach((x, i) => check(x, spec.of, `${path}.${i + 1}.member`, errors));
      return;
    case "map":
      if (typeof v !== "object" || Array.isArray(v)) throw serialization(path, "a map");
      for (const [k, x] of Object.entries(v as object))
        if (x === null) delete (v as Record<string, unknown>)[k];
      if (spec.max !== undefined && Object.keys(v).length > spec.max)
        fail(`have length less than or equal to ${spec.max}`);
      for (const [k, x] of Object.entries(v as object)) {
        check(k, spec.key, `${path}.${k}.key`, errors);
        check(x, spec.value, `${path}.${k}.value`, errors);
      }
      return;
    case "struct":
      if (typeof v !== "object" || Array.isArray(v)) throw serialization(path, "a structure");
      for (const [k, x] of Object.entries(v as object))
        if (x === null) delete (v as Record<string, unknown>)[k];
      for (const [k, s] of Object.entries(spec.members))
        check((v as Record<string, unknown>)[k], s, path ? `${path}.${camel(k)}` : camel(k), errors);
      return;
    case "any":
      return;
  }
}

/**
 * Checks an operation's input against its shape; throws ValidationException listing every
 * constraint that fails (a bad request changes nothing), or SerializationException for a member
 * of the wrong type. Returns the input, typed by the caller.
 */
export function validate<T>(shape: Record<string, Member>, input: Record<string, unknown>): T {
  const errors: string[] = [];
  check(input, { t: "struct", members: shape }, "", errors);
  if (errors.length) {
    const n = errors.length;
    throw new AwsError(
      "ValidationException",
      `${n} validation error${n === 1 ? "" : "s"} detected: ${errors.join("; ")}`,
    );
  }
  return input as T;
}

/** Epoch seconds as JSON numbers: what every AWS JSON protocol carries. */
export const epochSeconds = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? undefined : ms / 1000;

/** Drops members whose value is undefined or null (AWS omits unset members). */
export function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}
