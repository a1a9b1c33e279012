/**
 * An InputTransformer's `InputTemplate`: its text cut into literal runs and `<name>` placeholders,
 * each placeholder knowing whether it stands inside a JSON string of the template, and the rules
 * by which values fill them (documented in docs/events.md, "Target input").
 */

export interface Placeholder {
  name: string;
  /** Inside a double-quoted string of the template (`"state is <state>"`). */
  inString: boolean;
}

export type TemplatePart = string | Placeholder;

export interface CompiledTemplate {
  parts: TemplatePart[];
  /** The template is JSON once its placeholders are filled (else it is plain text). */
  json: boolean;
}

/** `<` and `>` cannot be escaped (EventBridge): any `<name>` of these characters is a placeholder. */
const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/y;

export function scanTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = "";
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "<") {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(text);
      if (m) {
        if (literal) parts.push(literal);
        literal = "";
        parts.push({ name: m[1]!, inString });
        i += m[0].length;
        continue;
      }
    }
    literal += c;
    i++;
    if (inString && c === "\\") {
      // the escaped character is literal, unless it opens a placeholder (which cannot be escaped)
      if (i < text.length && text[i] !== "<") literal += text[i++];
    } else if (c === '"') inString = !inString;
  }
  if (literal) parts.push(literal);
  return parts;
}

/** The template with placeholders outside strings as `null` and inside strings as `inString`. */
function standIn(parts: TemplatePart[], inString: string): string {
  return parts.map((p) => (typeof p === "string" ? p : p.inString ? inString : "null")).join("");
}

function parses(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return FAILED;
  }
}
const FAILED = Symbol("not JSON");

/**
 * Whether the template is JSON once filled. Every value fills a placeholder outside strings as a
 * JSON value and one inside a string as escaped string content, so a template that parses with
 * `null` and `x` stand-ins parses with any values.
 */
export function compileTemplate(text: string): CompiledTemplate {
  const parts = scanTemplate(text);
  // "x", not "" nor a hex digit: a placeholder that would end an escape the template leaves open
  // (`"\<k>"`, `"\u00<k>"`) must not pass as one
  return { parts, json: parses(standIn(parts, "x")) !== FAILED };
}

/** AWS's restriction on JSON object templates: a placeholder cannot be (part of) an object key. */
export function placeholderInKey(t: CompiledTemplate): boolean {
  if (!t.json) return false;
  const MARK = "\uE000\uE001";
  const parsed = parses(standIn(t.parts, "\\uE000\\uE001"));
  // iterative: a template of nested arrays must not exhaust the stack
  const stack: unknown[] = [parsed];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...v);
    else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes(MARK)) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

/** A value a placeholder takes: undefined when its path selects nothing. */
export type TemplateValue = { value: unknown } | undefined;

/** JSON text without the quotes that delimit its strings (escapes kept): fits inside a string. */
function unquoted(json: string): string {
  let out = "";
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === "\\") out += c + json[++i]!;
    else if (c !== '"') out += c;
  }
  return out;
}

function inStringText(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v).slice(1, -1);
  return unquoted(JSON.stringify(v) ?? "null");
}

export function fillTemplate(t: CompiledTemplate, valueOf: (name: string) => TemplateValue): string {
  let out = "";
  for (const p of t.parts) {
    if (typeof p === "string") {
      out += p;
      continue;
    }
    const v = valueOf(p.name);
    if (!t.json)
      out +=
        v === undefined ? "" : typeof v.value === "string" ? v.value : (JSON.stringify(v.value) ?? "null");
    else if (p.inString) out += v === undefined ? "" : inStringText(v.value);
    else out += v === undefined ? '""' : (JSON.stringify(v.value) ?? "null");
  }
  return out;
}
