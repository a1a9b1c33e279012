import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import JSON5 from "json5";

/**
 * Test support: the EventBridge pattern vectors of ../shared/testdata/eventbridge-patterns (read
 * where they are, never copied; PROVENANCE.md there says which file means what).
 */

export const patternVectors = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../../../shared"),
  "testdata/eventbridge-patterns",
);

/** Null when the vectors exist, else why the tests that need them are skipped. */
export function missingPatternVectors(): string | null {
  return existsSync(join(patternVectors, "PROVENANCE.md"))
    ? null
    : `../shared/testdata/eventbridge-patterns not found at ${patternVectors}: skipped`;
}

export type Expected = { result: boolean } | { error: string };

export interface TemplateCase {
  name: string;
  event: Record<string, unknown>;
  /** The pattern as JSON text (the JSON5 file's EventPattern, written back as JSON). */
  patternText: string;
  expected: Expected;
}

const templatesDir = () => join(patternVectors, "localstack/event_pattern_templates");

function snapshot(): Record<string, { "recorded-content": Record<string, unknown> }> {
  return JSON.parse(
    readFileSync(join(patternVectors, "localstack/test_events_patterns.snapshot.json"), "utf8"),
  );
}

/**
 * The AWS-validated template cases: name without suffix → Result true, _NEG → false, _EXC →
 * InvalidEventPatternException whose message (first line) the snapshot records.
 */
export function templateCases(): TemplateCase[] {
  const snap = snapshot();
  const out: TemplateCase[] = [];
  for (const file of readdirSync(templatesDir()).sort()) {
    if (!file.endsWith(".json5")) continue;
    const name = file.slice(0, -".json5".length);
    const doc = JSON5.parse(readFileSync(join(templatesDir(), file), "utf8")) as {
      Event: Record<string, unknown>;
      EventPattern: unknown;
    };
    let expected: Expected;
    if (name.endsWith("_EXC")) {
      const key = Object.keys(snap).find((k) => k.endsWith(`::test_event_pattern[${name}]`));
      const recorded = key
        ? (snap[key]!["recorded-content"][name] as RecordedException | undefined)
        : undefined;
      const message = recorded?.exception_message?.Error?.Message;
      if (!message) throw new Error(`no AWS message recorded for ${name}`);
      expected = { error: message };
    } else {
      expected = { result: !name.endsWith("_NEG") };
    }
    out.push({ name, event: doc.Event, patternText: pythonJson(doc.EventPattern), expected });
  }
  return out;
}

interface RecordedException {
  exception_message?: { Error?: { Message?: string; MessageRaw?: string } };
}

/** The full AWS text (with Jackson's location) recorded for an _EXC case, when recorded. */
export function recordedRawMessage(name: string): string | undefined {
  const snap = snapshot();
  const key = Object.keys(snap).find((k) => k.endsWith(`::test_event_pattern[${name}]`));
  const recorded = key ? (snap[key]!["recorded-content"][name] as RecordedException | undefined) : undefined;
  return recorded?.exception_message?.Error?.MessageRaw;
}

/** The invalid-JSON pattern cases of test_invalid_json_event_pattern: [pattern text, AWS message]. */
export function invalidJsonCases(): { pattern: string; message: string }[] {
  const snap = snapshot();
  const prefix = "::TestEventPattern::test_invalid_json_event_pattern[";
  const out: { pattern: string; message: string }[] = [];
  for (const [key, value] of Object.entries(snap)) {
    const at = key.indexOf(prefix);
    if (at < 0) continue;
    const pattern = key.slice(at + prefix.length, -1);
    const err = (value["recorded-content"]["invalid-pattern"] as { Error: { Message: string } }).Error;
    out.push({ pattern, message: err.Message });
  }
  return out;
}

/**
 * JSON as Python's json.dumps writes it (", " and ": " separators, non-ASCII escaped): the text
 * localstack's test sent to AWS, so that Jackson's columns in the recorded messages line up.
 */
export function pythonJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
    );
  }
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`)
    .join(", ")}}`;
}

export function readVector(rel: string): string {
  return readFileSync(join(patternVectors, rel), "utf8");
}
