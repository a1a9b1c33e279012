import type { EventEnvelope } from "../envelope.js";
import { MAX_PATH_LENGTH, parseJsonPath, selectPath, type JsonPath } from "./jsonpath.js";
import {
  compileTemplate,
  fillTemplate,
  placeholderInKey,
  type CompiledTemplate,
  type TemplateValue,
} from "./template.js";

/**
 * What a target receives (eb-transform-target-input): the event itself, or the target's `Input`
 * (constant JSON text), `InputPath` (the part of the event a JSONPath selects) or
 * `InputTransformer` (`InputPathsMap` names values of the event, `InputTemplate` places them).
 * The rules, with examples, are in docs/events.md ("Target input").
 */

/** A PutTargets target refused for its input members: `message` is the ValidationException's text. */
export class InvalidTargetInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTargetInputError";
  }
}

/** The target members this module reads (the rest of the AWS Target object is ignored). */
export interface TargetInputMembers {
  Id?: unknown;
  Input?: unknown;
  InputPath?: unknown;
  InputTransformer?: unknown;
}

export interface RenderContext {
  ruleArn: string;
  ruleName: string;
  /** When the bus received the event (ISO-8601): `<aws.events.event.ingestion-time>`. */
  ingestionTime: string;
}

export const MAX_INPUT_LENGTH = 8192;
export const MAX_TEMPLATE_LENGTH = 8192;
export const MAX_PATHS = 100;
const KEY = /^[A-Za-z0-9_-]{1,256}$/;

/** The variables EventBridge defines; reserved (the key pattern cannot name them anyway). */
export const PREDEFINED = [
  "aws.events.rule-arn",
  "aws.events.rule-name",
  "aws.events.event.ingestion-time",
  "aws.events.event",
  "aws.events.event.json",
] as const;
const PREDEFINED_SET: ReadonlySet<string> = new Set(PREDEFINED);

const present = (v: unknown) => v !== undefined && v !== null;

/** A model constraint's text, as AWS's request validation words them. */
const constraint = (where: string, what: string) =>
  `1 validation error detected: Value at '${where}' failed to satisfy constraint: ${what}`;

/**
 * Refuses a target whose input members AWS would refuse, with AWS's text where it is known
 * (recorded responses: "Only one of ...", "... contains invalid placeholder ...", "Input for
 * target ... is not a valid JSON text."; model constraints in AWS's "1 validation error
 * detected" form). `index` is the target's 1-based position in the request (constraint texts
 * name it).
 */
export function validateTargetInput(target: TargetInputMembers, o: { index?: number } = {}): void {
  const id = typeof target.Id === "string" ? target.Id : "";
  const at = `targets.${o.index ?? 1}.member`;
  const given = [target.Input, target.InputPath, target.InputTransformer].filter(present).length;
  if (given > 1)
    throw new InvalidTargetInputError(
      `Only one of Input, InputPath, or InputTransformer must be provided for target ${id}.`,
    );

  if (present(target.Input)) {
    if (typeof target.Input !== "string")
      throw new InvalidTargetInputError(`Input for target ${id} must be a string.`);
    if (target.Input.length > MAX_INPUT_LENGTH)
      throw new InvalidTargetInputError(
        constraint(`${at}.input`, `Member must have length less than or equal to ${MAX_INPUT_LENGTH}`),
      );
    try {
      JSON.parse(target.Input);
    } catch {
      throw new InvalidTargetInputError(`Input for target ${id} is not a valid JSON text.`);
    }
  }

  if (present(target.InputPath)) {
    if (typeof target.InputPath !== "string")
      throw new InvalidTargetInputError(`InputPath for target ${id} must be a string.`);
    if (target.InputPath.length > MAX_PATH_LENGTH)
      throw new InvalidTargetInputError(
        constraint(`${at}.inputPath`, `Member must have length less than or equal to ${MAX_PATH_LENGTH}`),
      );
    if (!parseJsonPath(target.InputPath))
      throw new InvalidTargetInputError(
        `InputPath for target ${id} is not a valid JSON path: ${target.InputPath}.`,
      );
  }

  if (present(target.InputTransformer))
    validateTransformer(target.InputTransformer, id, `${at}.inputTransformer`);
}

function validateTransformer(t: unknown, id: string, at: string): void {
  if (typeof t !== "object" || t === null || Array.isArray(t))
    throw new InvalidTargetInputError(`InputTransformer for target ${id} must be an object.`);
  const { InputTemplate: template, InputPathsMap: map } = t as Record<string, unknown>;
  if (!present(template))
    throw new InvalidTargetInputError(constraint(`${at}.inputTemplate`, "Member must not be null"));
  if (typeof template !== "string")
    throw new InvalidTargetInputError(`InputTemplate for target ${id} must be a string.`);
  if (template.length < 1 || template.length > MAX_TEMPLATE_LENGTH)
    throw new InvalidTargetInputError(
      constraint(
        `${at}.inputTemplate`,
        template.length < 1
          ? "Member must have length greater than or equal to 1"
          : `Member must have length less than or equal to ${MAX_TEMPLATE_LENGTH}`,
      ),
    );

  const keys = new Set<string>();
  if (present(map)) {
    if (typeof map !== "object" || Array.isArray(map))
      throw new InvalidTargetInputError(`InputPathsMap for target ${id} must be an object.`);
    const entries = Object.entries(map as Record<string, unknown>);
    if (entries.length > MAX_PATHS)
      throw new InvalidTargetInputError(
        constraint(`${at}.inputPathsMap`, `Member must have length less than or equal to ${MAX_PATHS}`),
      );
    for (const [key, path] of entries) {
      if (!KEY.test(key))
        throw new InvalidTargetInputError(
          constraint(
            `${at}.inputPathsMap`,
            "Map keys must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]",
          ),
        );
      // "The keys can't start with AWS" (API reference, InputTransformer)
      if (key.startsWith("AWS"))
        throw new InvalidTargetInputError(`InputPathsMap for target ${id} contains reserved key ${key}.`);
      if (typeof path !== "string" || path.length > MAX_PATH_LENGTH || !parseJsonPath(path))
        throw new InvalidTargetInputError(
          `InputPathsMap for target ${id} contains invalid JSON path ${typeof path === "string" ? path : JSON.stringify(path)}.`,
        );
      keys.add(key);
    }
  }

  const compiled = compileTemplate(template);
  for (const p of compiled.parts)
    if (typeof p !== "string" && !keys.has(p.name) && !PREDEFINED_SET.has(p.name))
      throw new InvalidTargetInputError(
        `InputTemplate for target ${id} contains invalid placeholder ${p.name}.`,
      );
  const trimmed = template.trimStart();
  if ((trimmed.startsWith("{") || trimmed.startsWith("[")) && !compiled.json)
    throw new InvalidTargetInputError(
      `InputTemplate for target ${id} is not valid JSON once its placeholders are filled.`,
    );
  if (placeholderInKey(compiled))
    throw new InvalidTargetInputError(`InputTemplate for target ${id} uses a placeholder as an object key.`);
}

/** Compiled templates and paths by text: a busy rule renders the same few for every event. */
const templates = new Map<string, CompiledTemplate>();
const paths = new Map<string, JsonPath | undefined>();
const CACHE_LIMIT = 1000;

function cached<T>(cache: Map<string, T>, key: string, make: (k: string) => T): T {
  if (cache.has(key)) return cache.get(key)!;
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  const v = make(key);
  cache.set(key, v);
  return v;
}

function select(pathText: string, event: unknown): TemplateValue {
  const path = cached(paths, pathText, parseJsonPath);
  if (!path) return undefined;
  const r = selectPath(path, event);
  return r.found ? { value: r.value } : undefined;
}

/** `<aws.events.event>`: the envelope without `detail`, as EventBridge shows it (detailType, ingestion time). */
function eventWithoutDetail(e: EventEnvelope, ingestionTime: string): Record<string, unknown> {
  return {
    id: e.id,
    account: e.account,
    detailType: e["detail-type"],
    time: ingestionTime,
    source: e.source,
    region: e.region,
    resources: e.resources,
    version: e.version,
  };
}

/**
 * The body the target receives for `event`. The target should have passed validateTargetInput;
 * a member that did not (an old row) is rendered as well as it can be, never thrown on.
 */
export function renderTargetInput(
  target: TargetInputMembers,
  event: EventEnvelope,
  ctx: RenderContext,
): string {
  if (typeof target.Input === "string") return target.Input;
  if (typeof target.InputPath === "string") {
    const v = select(target.InputPath, event);
    // a path that selects nothing delivers JSON null (see docs/events.md)
    return v === undefined ? "null" : (JSON.stringify(v.value) ?? "null");
  }
  const t = target.InputTransformer as
    { InputTemplate?: unknown; InputPathsMap?: unknown } | undefined | null;
  if (t && typeof t.InputTemplate === "string") {
    const map = (
      typeof t.InputPathsMap === "object" && t.InputPathsMap !== null ? t.InputPathsMap : {}
    ) as Record<string, unknown>;
    const valueOf = (name: string): TemplateValue => {
      switch (name) {
        case "aws.events.rule-arn":
          return { value: ctx.ruleArn };
        case "aws.events.rule-name":
          return { value: ctx.ruleName };
        case "aws.events.event.ingestion-time":
          return { value: ctx.ingestionTime };
        case "aws.events.event":
          return { value: eventWithoutDetail(event, ctx.ingestionTime) };
        case "aws.events.event.json":
          return { value: event };
      }
      const path = Object.hasOwn(map, name) ? map[name] : undefined;
      return typeof path === "string" ? select(path, event) : undefined;
    };
    return fillTemplate(cached(templates, t.InputTemplate, compileTemplate), valueOf);
  }
  return JSON.stringify(event);
}
