/**
 * ECR lifecycle policy text: parsing and validation with ECR's grammar and rules
 * (docs/lifecycle.md). The text is untrusted input (PutLifecyclePolicy,
 * StartLifecyclePolicyPreview): whatever it is, parseLifecyclePolicy returns a policy or throws
 * LifecyclePolicyError, never anything else, in time linear in its length.
 *
 * Drydock has one storage class: `storageClass: "archive"`, `countType: "sinceImageTransitioned"`
 * and `action.type: "transition"` are refused with an error naming the field, rather than
 * accepted and silently never applied.
 */

export const MIN_POLICY_LENGTH = 100;
export const MAX_POLICY_LENGTH = 30_720;
/** ECR: at most four `*` in one tag pattern. */
export const MAX_PATTERN_WILDCARDS = 4;
const MAX_INT = 2_147_483_647;
/** A tag is at most 128 characters (OCI distribution); a longer prefix or pattern matches nothing. */
const MAX_TAG_LENGTH = 128;
const TAG_CHARS = /^[A-Za-z0-9_.-]+$/;
const PATTERN_CHARS = /^[A-Za-z0-9_.*-]+$/;

export type LifecycleTagStatus = "tagged" | "untagged" | "any";
export type LifecycleCountType = "imageCountMoreThan" | "sinceImagePushed" | "sinceImagePulled";

export interface LifecycleSelection {
  tagStatus: LifecycleTagStatus;
  tagPrefixList?: string[];
  tagPatternList?: string[];
  countType: LifecycleCountType;
  /** Only with the since* count types. */
  countUnit?: "days";
  countNumber: number;
}

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: LifecycleSelection;
  action: { type: "expire" };
}

/** A valid policy; `rules` sorted by rulePriority (lowest, applied first, first). */
export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

/**
 * An invalid policy: ECR's InvalidParameterException. The message names the rule (its index in
 * `rules` and its rulePriority when known) and the field.
 */
export class LifecyclePolicyError extends Error {
  readonly code = "InvalidParameterException";
  constructor(
    readonly detail: string,
    readonly field?: string,
  ) {
    super(
      `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${detail}'`,
    );
    this.name = "LifecyclePolicyError";
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const TOP_KEYS = new Set(["rules"]);
const RULE_KEYS = new Set(["rulePriority", "description", "selection", "action"]);
const SELECTION_KEYS = new Set([
  "tagStatus",
  "tagPrefixList",
  "tagPatternList",
  "storageClass",
  "countType",
  "countUnit",
  "countNumber",
]);
const ACTION_KEYS = new Set(["type", "targetStorageClass"]);

function unknownKeys(o: Record<string, Json>, allowed: Set<string>): string[] {
  return Object.keys(o).filter((k) => !allowed.has(k));
}

/** Parses and validates a lifecycle policy text (see the module comment). */
export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  if (typeof text !== "string") throw new LifecyclePolicyError("the policy text must be a string");
  if (text.length < MIN_POLICY_LENGTH || text.length > MAX_POLICY_LENGTH)
    throw new LifecyclePolicyError(
      `the policy text is ${text.length} characters; it must have between ${MIN_POLICY_LENGTH} and ${MAX_POLICY_LENGTH}`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LifecyclePolicyError(`the policy text is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new LifecyclePolicyError('the policy must be a JSON object with "rules"');
  const extra = unknownKeys(doc, TOP_KEYS);
  if (extra.length) throw new LifecyclePolicyError(`unknown field "${extra[0]}" at the top level`, extra[0]);
  const rawRules = doc.rules;
  if (!Array.isArray(rawRules) || rawRules.length === 0)
    throw new LifecyclePolicyError('"rules" must be a non-empty array of rules', "rules");

  const rules = rawRules.map((r, i) => parseRule(r, i));

  // Rules across the policy.
  const byPriority = new Map<number, number>();
  let untagged: LifecycleRule | undefined;
  const prefixOwner = new Map<string, number>();
  const patternOwner = new Map<string, number>();
  rules.forEach((r, i) => {
    const where = ruleName(i, r.rulePriority);
    const other = byPriority.get(r.rulePriority);
    if (other !== undefined)
      throw new LifecyclePolicyError(
        `${where}: rulePriority ${r.rulePriority} is also the priority of rules[${other}]; priorities must be unique`,
        "rulePriority",
      );
    byPriority.set(r.rulePriority, i);
    if (r.selection.tagStatus === "untagged") {
      if (untagged)
        throw new LifecyclePolicyError(
          `${where}: selection.tagStatus: only one rule may select untagged images (rulePriority ${untagged.rulePriority} does too)`,
          "selection.tagStatus",
        );
      untagged = r;
    }
    for (const p of r.selection.tagPrefixList ?? []) {
      const o = prefixOwner.get(p);
      if (o !== undefined && o !== i)
        throw new LifecyclePolicyError(
          `${where}: selection.tagPrefixList: the prefix "${p}" is also in rules[${o}]; tag prefixes must be unique across rules`,
          "selection.tagPrefixList",
        );
      prefixOwner.set(p, i);
    }
    for (const p of r.selection.tagPatternList ?? []) {
      const o = patternOwner.get(p);
      if (o !== undefined && o !== i)
        throw new LifecyclePolicyError(
          `${where}: selection.tagPatternList: the pattern "${p}" is also in rules[${o}]; tag patterns must be unique across rules`,
          "selection.tagPatternList",
        );
      patternOwner.set(p, i);
    }
  });
  const highest = Math.max(...rules.map((r) => r.rulePriority));
  rules.forEach((r, i) => {
    if (r.selection.tagStatus === "any" && r.rulePriority !== highest)
      throw new LifecyclePolicyError(
        `${ruleName(i, r.rulePriority)}: rulePriority: a rule with tagStatus "any" must have the highest rulePriority of the policy (${highest} is higher)`,
        "rulePriority",
      );
  });
  return { rules: [...rules].sort((a, b) => a.rulePriority - b.rulePriority) };
}

function ruleName(i: number, priority?: number): string {
  return priority === undefined ? `rules[${i}]` : `rules[${i}] (rulePriority ${priority})`;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "number") return `the number ${v}`;
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

function parseRule(raw: unknown, i: number): LifecycleRule {
  if (!isObject(raw)) throw new LifecyclePolicyError(`rules[${i}] must be an object, not ${describe(raw)}`);
  const priority = raw.rulePriority;
  const validPriority =
    typeof priority === "number" && Number.isInteger(priority) && priority >= 1 && priority <= MAX_INT;
  const where = ruleName(i, validPriority ? priority : undefined);
  const fail = (field: string, why: string): never => {
    throw new LifecyclePolicyError(`${where}: ${field}: ${why}`, field);
  };
  const extra = unknownKeys(raw, RULE_KEYS);
  if (extra.length) fail(extra[0]!, "unknown field");
  if (priority === undefined) fail("rulePriority", "is required");
  if (!validPriority)
    fail("rulePriority", `must be an integer from 1 to ${MAX_INT}, not ${describe(priority)}`);
  let description: string | undefined;
  if (raw.description !== undefined) {
    if (typeof raw.description !== "string")
      fail("description", `must be a string, not ${describe(raw.description)}`);
    description = raw.description as string;
  }

  const sel = raw.selection;
  if (sel === undefined) fail("selection", "is required");
  if (!isObject(sel)) fail("selection", `must be an object, not ${describe(sel)}`);
  const s = sel as Record<string, Json>;
  const selExtra = unknownKeys(s, SELECTION_KEYS);
  if (selExtra.length) fail(`selection.${selExtra[0]}`, "unknown field");

  const tagStatus = s.tagStatus;
  if (tagStatus === undefined) fail("selection.tagStatus", "is required");
  if (tagStatus !== "tagged" && tagStatus !== "untagged" && tagStatus !== "any")
    fail(
      "selection.tagStatus",
      `must be "tagged", "untagged" or "any" (lowercase), not ${describe(tagStatus)}`,
    );

  if (s.storageClass !== undefined && s.storageClass !== "standard")
    fail(
      "selection.storageClass",
      s.storageClass === "archive"
        ? 'Drydock has no archive storage class; only "standard" (the default) is supported'
        : `must be "standard", not ${describe(s.storageClass)}`,
    );

  const countType = s.countType;
  if (countType === undefined) fail("selection.countType", "is required");
  if (countType === "sinceImageTransitioned")
    fail(
      "selection.countType",
      "sinceImageTransitioned needs the archive storage class, which Drydock does not have",
    );
  if (
    countType !== "imageCountMoreThan" &&
    countType !== "sinceImagePushed" &&
    countType !== "sinceImagePulled"
  )
    fail(
      "selection.countType",
      `must be "imageCountMoreThan", "sinceImagePushed" or "sinceImagePulled", not ${describe(countType)}`,
    );

  const countNumber = s.countNumber;
  if (countNumber === undefined) fail("selection.countNumber", "is required");
  if (
    typeof countNumber !== "number" ||
    !Number.isInteger(countNumber) ||
    countNumber < 1 ||
    countNumber > MAX_INT
  )
    fail("selection.countNumber", `must be an integer from 1 to ${MAX_INT}, not ${describe(countNumber)}`);

  let countUnit: "days" | undefined;
  if (countType === "imageCountMoreThan") {
    if (s.countUnit !== undefined)
      fail("selection.countUnit", "is only allowed with sinceImagePushed or sinceImagePulled");
  } else {
    if (s.countUnit === undefined) fail("selection.countUnit", `is required with ${String(countType)}`);
    if (s.countUnit !== "days") fail("selection.countUnit", `must be "days", not ${describe(s.countUnit)}`);
    countUnit = "days";
  }

  const tagPrefixList =
    s.tagPrefixList === undefined ? undefined : stringList(s.tagPrefixList, "selection.tagPrefixList", fail);
  const tagPatternList =
    s.tagPatternList === undefined
      ? undefined
      : stringList(s.tagPatternList, "selection.tagPatternList", fail);
  if (tagStatus === "tagged") {
    if (!tagPrefixList && !tagPatternList)
      fail("selection.tagPrefixList", 'a rule with tagStatus "tagged" needs tagPrefixList or tagPatternList');
    if (tagPrefixList && tagPatternList)
      fail("selection.tagPatternList", "tagPrefixList and tagPatternList cannot both be given in one rule");
  } else {
    if (tagPrefixList)
      fail("selection.tagPrefixList", `is only allowed with tagStatus "tagged", not "${String(tagStatus)}"`);
    if (tagPatternList)
      fail("selection.tagPatternList", `is only allowed with tagStatus "tagged", not "${String(tagStatus)}"`);
  }
  tagPrefixList?.forEach((p, k) => {
    if (p.length > MAX_TAG_LENGTH || !TAG_CHARS.test(p))
      fail(
        `selection.tagPrefixList[${k}]`,
        `${describe(p)} is not a tag prefix (1-128 of A-Z a-z 0-9 _ . -)`,
      );
  });
  tagPatternList?.forEach((p, k) => {
    if (p.length > MAX_TAG_LENGTH || !PATTERN_CHARS.test(p))
      fail(
        `selection.tagPatternList[${k}]`,
        `${describe(p)} is not a tag pattern (1-128 of A-Z a-z 0-9 _ . - and *)`,
      );
    let stars = 0;
    for (const c of p) if (c === "*") stars++;
    if (stars > MAX_PATTERN_WILDCARDS)
      fail(
        `selection.tagPatternList[${k}]`,
        `${describe(p)} has ${stars} wildcards; at most ${MAX_PATTERN_WILDCARDS} are allowed`,
      );
  });

  const action = raw.action;
  if (action === undefined) fail("action", "is required");
  if (!isObject(action)) fail("action", `must be an object, not ${describe(action)}`);
  const a = action as Record<string, Json>;
  const actExtra = unknownKeys(a, ACTION_KEYS);
  if (actExtra.length) fail(`action.${actExtra[0]}`, "unknown field");
  if (a.type === undefined) fail("action.type", "is required");
  if (a.type === "transition")
    fail(
      "action.type",
      '"transition" moves images to the archive storage class, which Drydock does not have; use "expire"',
    );
  if (a.type !== "expire") fail("action.type", `must be "expire", not ${describe(a.type)}`);
  if (a.targetStorageClass !== undefined)
    fail("action.targetStorageClass", 'is only allowed with action type "transition"');

  const selection: LifecycleSelection = {
    tagStatus: tagStatus as LifecycleTagStatus,
    ...(tagPrefixList ? { tagPrefixList } : {}),
    ...(tagPatternList ? { tagPatternList } : {}),
    countType: countType as LifecycleCountType,
    ...(countUnit ? { countUnit } : {}),
    countNumber: countNumber as number,
  };
  return {
    rulePriority: priority as number,
    ...(description !== undefined ? { description } : {}),
    selection,
    action: { type: "expire" },
  };
}

function stringList(v: Json, field: string, fail: (field: string, why: string) => never): string[] {
  if (!Array.isArray(v)) return fail(field, `must be an array of strings, not ${describe(v)}`);
  if (v.length === 0) return fail(field, "must not be empty");
  const out: string[] = [];
  v.forEach((x, k) => {
    if (typeof x !== "string" || x.length === 0)
      fail(`${field}[${k}]`, `must be a non-empty string, not ${describe(x)}`);
    out.push(x as string);
  });
  return out;
}

/**
 * A tag pattern as a matcher: `*` is any run of characters (possibly none), everything else
 * literal, anchored at both ends. Matched by scanning the literal pieces left to right (the
 * first piece at the start, the last at the end, the middle ones at their first occurrence),
 * which is exact for `*`-only globs and linear in the tag, with no regex backtracking.
 */
export function compileTagPattern(pattern: string): (tag: string) => boolean {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return (tag) => tag === pattern;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((p) => p.length > 0);
  const minLength = first.length + last.length;
  return (tag) => {
    if (tag.length < minLength || !tag.startsWith(first) || !tag.endsWith(last)) return false;
    let at = first.length;
    const end = tag.length - last.length;
    for (const piece of middle) {
      const k = tag.indexOf(piece, at);
      if (k < 0 || k + piece.length > end) return false;
      at = k + piece.length;
    }
    return true;
  };
}
