import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EventEnvelope } from "../envelope.js";
import { parseJsonPath, selectPath } from "./jsonpath.js";
import {
  InvalidTargetInputError,
  renderTargetInput,
  validateTargetInput,
  type TargetInputMembers,
} from "./target-input.js";

/** The example EC2 event of eb-transform-target-input ("Input transform examples"). */
const ec2: EventEnvelope = {
  version: "0",
  id: "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "123456789012",
  time: "2015-11-11T21:29:54Z",
  region: "us-east-1",
  resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  detail: { "instance-id": "i-0123456789", state: "RUNNING" },
};
const ctx = {
  ruleArn: "arn:aws:events:us-east-1:123456789012:rule/example",
  ruleName: "example",
  ingestionTime: "2015-11-11T21:29:55Z",
};
const paths = { instance: "$.detail.instance-id", state: "$.detail.state" };

function transform(
  template: string,
  map: Record<string, string> = paths,
  event: EventEnvelope = ec2,
): string {
  const target = { Id: "t1", InputTransformer: { InputPathsMap: map, InputTemplate: template } };
  validateTargetInput(target);
  return renderTargetInput(target, event, ctx);
}

function refusal(target: TargetInputMembers, index?: number): string {
  try {
    validateTargetInput({ Id: "t1", ...target }, { index });
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidTargetInputError);
    return (e as Error).message;
  }
  throw new Error("accepted");
}

describe("InputTransformer, AWS's documented examples", () => {
  // eb-transform-target-input, "Input transform examples", with the EC2 event above
  it("a JSON string with placeholders inside it: values without quotes", () => {
    expect(transform('"instance <instance> is in <state>"')).toBe('"instance i-0123456789 is in RUNNING"');
  });

  it("escaped quotes in the string stay", () => {
    expect(transform('"instance \\"<instance>\\" is in <state>"')).toBe(
      '"instance \\"i-0123456789\\" is in RUNNING"',
    );
  });

  it("placeholders as JSON values: values as JSON", () => {
    expect(transform('{"instance" : <instance>, "state": <state>}')).toBe(
      '{"instance" : "i-0123456789", "state": "RUNNING"}',
    );
  });

  it("placeholders as values and inside strings in one object", () => {
    expect(
      transform(
        '{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \\"<instance>\\" is in <state>"}',
      ),
    ).toBe(
      '{"instance" : "i-0123456789", "state": "RUNNING", "instanceStatus": "instance \\"i-0123456789\\" is in RUNNING"}',
    );
  });

  it("predefined variables", () => {
    const out = transform(
      '{"instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>, "originalEvent" : <aws.events.event.json>}',
    );
    expect(JSON.parse(out)).toEqual({
      instance: "i-0123456789",
      state: "RUNNING",
      ruleArn: ctx.ruleArn,
      ruleName: "example",
      originalEvent: ec2,
    });
  });

  // API_InputTransformer's three InputTemplate examples (InputPathsMap instance/status)
  it("API reference: plain text, quoted values in plain text, and JSON with both", () => {
    const map = { instance: "$.detail.instance-id", status: "$.detail.state" };
    expect(transform("<instance> is in state <status>", map)).toBe("i-0123456789 is in state RUNNING");
    expect(transform('<instance> is in state "<status>"', map)).toBe('i-0123456789 is in state "RUNNING"');
    expect(
      transform('{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}', map),
    ).toBe('{"myInstance": "i-0123456789","myStatus": "i-0123456789 is in state \\"RUNNING\\""}');
  });

  // "Common issues": an object or array referenced inside a string loses its internal quotes
  it("an object inside a string loses its quotes; as a value it stays JSON", () => {
    const map = { detail: "$.detail" };
    expect(transform('"Detail is <detail>"', map)).toBe(
      '"Detail is {instance-id:i-0123456789,state:RUNNING}"',
    );
    expect(JSON.parse(transform('{"detail": <detail>}', map))).toEqual({ detail: ec2.detail });
  });
});

describe("InputTransformer, AWS's recorded responses (localstack test_events_inputs snapshot)", () => {
  const event: EventEnvelope = {
    ...ec2,
    "detail-type": "core.update-account-command",
    source: "core.update-account-command",
    resources: [],
    detail: { command: "update-account", payload: { acc_id: "0a787ecb-4015", sf_id: "baz" } },
  };
  const map = { "detail-type": "$.detail-type", timestamp: "$.time", command: "$.detail.command" };
  const missing = { ...map, command: "$.detail.notinmessage" };

  it("a string template: a missing value is empty", () => {
    const template =
      '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"';
    expect(transform(template, map, event)).toBe(
      `"Event of core.update-account-command type, at time ${ec2.time}, info extracted from detail update-account"`,
    );
    expect(transform(template, missing, event)).toBe(
      `"Event of core.update-account-command type, at time ${ec2.time}, info extracted from detail "`,
    );
  });

  it("a JSON template: a missing value outside strings is the empty string", () => {
    const template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}';
    expect(JSON.parse(transform(template, map, event))).toEqual({
      detailType: "core.update-account-command",
      time: ec2.time,
      command: "update-account",
    });
    expect(JSON.parse(transform(template, missing, event))).toEqual({
      detailType: "core.update-account-command",
      time: ec2.time,
      command: "",
    });
  });

  it("special characters at the start of a string template", () => {
    expect(
      transform('"{[/Check with special starting characters for event of <detail-type> type"', map, event),
    ).toBe('"{[/Check with special starting characters for event of core.update-account-command type"');
  });

  it("the predefined variables, without an InputPathsMap", () => {
    const target = {
      Id: "t",
      InputTransformer: {
        InputTemplate:
          '"Message containing all pre defined variables <aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"',
      },
    };
    validateTargetInput(target);
    expect(renderTargetInput(target, event, ctx)).toBe(
      `"Message containing all pre defined variables ${ctx.ruleArn} example ${ctx.ingestionTime}"`,
    );
    const json = {
      Id: "t",
      InputTransformer: {
        InputTemplate: '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}',
      },
    };
    validateTargetInput(json);
    const out = JSON.parse(renderTargetInput(json, event, ctx)) as Record<string, unknown>;
    expect(out.originalEvent).toEqual({
      id: event.id,
      account: event.account,
      detailType: "core.update-account-command",
      time: ctx.ingestionTime,
      source: event.source,
      region: event.region,
      resources: [],
      version: "0",
    });
    expect(Object.keys(out.originalEvent as object)).toEqual([
      "id",
      "account",
      "detailType",
      "time",
      "source",
      "region",
      "resources",
      "version",
    ]);
    expect(out.originalEventJson).toEqual(event);
  });

  it("refuses a placeholder the map does not define, and two input members", () => {
    expect(
      refusal({
        InputTransformer: {
          InputPathsMap: map,
          InputTemplate: '"Event of <detail-type> type, with not defined key <notdefinedkey>"',
        },
      }),
    ).toBe("InputTemplate for target t1 contains invalid placeholder notdefinedkey.");
    expect(refusal({ InputPath: "$.detail", InputTransformer: { InputTemplate: '"x"' } })).toBe(
      "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
    );
    expect(refusal({ Input: "{}", InputPath: "$.detail" })).toBe(
      "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
    );
  });
});

describe("InputTransformer, values and quoting", () => {
  const event: EventEnvelope = {
    ...ec2,
    detail: {
      quote: 'say "hi"\n\\',
      n: 42.5,
      yes: true,
      nothing: null,
      list: ["a", 'b"c', 1],
      nested: { deep: { x: [1, { y: "z" }] } },
    },
  };
  const map = {
    quote: "$.detail.quote",
    n: "$.detail.n",
    yes: "$.detail.yes",
    nothing: "$.detail.nothing",
    list: "$.detail.list",
    second: "$.detail.list[1]",
    y: "$.detail.nested.deep.x[1].y",
    absent: "$.detail.absent",
    all: "$.detail.list[*]",
    none: "$.detail.absent[*]",
  };

  it("JSON values outside strings", () => {
    const out = transform(
      '{"q": <quote>, "n": <n>, "b": <yes>, "z": <nothing>, "l": <list>, "s": <second>, "y": <y>, "a": <absent>, "all": <all>, "none": <none>}',
      map,
      event,
    );
    expect(JSON.parse(out)).toEqual({
      q: 'say "hi"\n\\',
      n: 42.5,
      b: true,
      z: null,
      l: ["a", 'b"c', 1],
      s: 'b"c',
      y: "z",
      a: "",
      all: ["a", 'b"c', 1],
      none: [],
    });
  });

  it("inside strings, values are escaped so the body stays JSON (AWS does not escape: see docs)", () => {
    const out = transform('{"text": "<quote> | <n> | <yes> | <nothing> | <list> | <absent>|"}', map, event);
    expect(JSON.parse(out)).toEqual({ text: 'say "hi"\n\\ | 42.5 | true | null | [a,b"c,1] | |' });
  });

  it("plain text gets raw values, objects as JSON text", () => {
    expect(transform("q=<quote> n=<n> l=<list> a=<absent>.", map, event)).toBe(
      'q=say "hi"\n\\ n=42.5 l=["a","b\\"c",1] a=.',
    );
  });

  it("a lone placeholder is JSON: the value as JSON", () => {
    expect(transform("<quote>", map, event)).toBe(JSON.stringify('say "hi"\n\\'));
    expect(transform(" <list> ", map, event)).toBe(' ["a","b\\"c",1] ');
  });

  it("`<` and `>` that do not enclose a name are text", () => {
    expect(transform('"a < b and c > d, <n>"', map, event)).toBe('"a < b and c > d, 42.5"');
    expect(transform("x <> y", map, event)).toBe("x <> y");
  });

  it("a placeholder right after a lone backslash in a string: not JSON, so plain text", () => {
    expect(transform('"\\<n>n"', map, event)).toBe('"\\42.5n"');
    expect(() => transform('{"a": "\\<n>"}', map, event)).toThrow(/not valid JSON once/);
    expect(() => transform('{"a": "\\u00<n>"}', map, event)).toThrow(/not valid JSON once/);
    // an escaped backslash before it is fine
    expect(JSON.parse(transform('{"a": "\\\\<n>"}', map, event))).toEqual({ a: "\\42.5" });
  });

  it("an array template", () => {
    expect(JSON.parse(transform('[<n>, "<n>", {"k": [<list>]}]', map, event))).toEqual([
      42.5,
      "42.5",
      { k: [["a", 'b"c', 1]] },
    ]);
  });
});

describe("Input and InputPath", () => {
  it("no member: the event itself", () => {
    expect(JSON.parse(renderTargetInput({ Id: "t" }, ec2, ctx))).toEqual(ec2);
  });

  it("Input: delivered as given", () => {
    const target = { Id: "t", Input: '{"custom-value": "somecustominput"}' };
    validateTargetInput(target);
    expect(renderTargetInput(target, ec2, ctx)).toBe('{"custom-value": "somecustominput"}');
  });

  // localstack's aws-validated test_put_events_with_input_path* (recorded SQS bodies)
  it("InputPath: the selected part as JSON; a string value quoted", () => {
    const event = {
      ...ec2,
      detail: { command: "update-account", payload: { acc_id: "0a787ecb-4015", sf_id: "baz" } },
    };
    const render = (p: string) => {
      validateTargetInput({ Id: "t", InputPath: p });
      return renderTargetInput({ Id: "t", InputPath: p }, event, ctx);
    };
    expect(JSON.parse(render("$.detail"))).toEqual(event.detail);
    expect(JSON.parse(render("$.detail.payload"))).toEqual(event.detail.payload);
    expect(render("$.detail.payload.sf_id")).toBe('"baz"');
    expect(JSON.parse(render("$"))).toEqual(event);
    expect(render("$.resources[0]")).toBe(JSON.stringify(ec2.resources[0]));
    expect(render("$.detail.absent")).toBe("null");
  });

  it("refuses bad Input and InputPath", () => {
    expect(refusal({ Input: "{not json" })).toBe("Input for target t1 is not a valid JSON text.");
    expect(refusal({ Input: "" })).toBe("Input for target t1 is not a valid JSON text.");
    expect(refusal({ Input: JSON.stringify("x".repeat(8191)) }, 3)).toBe(
      "1 validation error detected: Value at 'targets.3.member.input' failed to satisfy constraint: Member must have length less than or equal to 8192",
    );
    expect(refusal({ Input: 5 })).toMatch(/must be a string/);
    for (const p of [
      "detail",
      "$.",
      "$..detail",
      "$.detail[-1]",
      "$['detail']",
      "$.detail.a b",
      "$.detail.$x",
      "$.x[0",
    ])
      expect(refusal({ InputPath: p })).toBe(`InputPath for target t1 is not a valid JSON path: ${p}.`);
    expect(refusal({ InputPath: `$.${"a".repeat(300)}` })).toMatch(/inputPath' failed to satisfy constraint/);
    validateTargetInput({ Input: null, InputPath: "$.detail", InputTransformer: undefined });
  });
});

describe("InputTransformer refusals", () => {
  const t = (InputTransformer: unknown) => refusal({ InputTransformer });

  it("InputTemplate missing, empty or too long", () => {
    expect(t({ InputPathsMap: {} })).toBe(
      "1 validation error detected: Value at 'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: Member must not be null",
    );
    expect(t({ InputTemplate: "" })).toMatch(/greater than or equal to 1$/);
    expect(t({ InputTemplate: `"${"x".repeat(8191)}"` })).toMatch(/less than or equal to 8192$/);
    expect(t("x")).toMatch(/must be an object/);
  });

  it("InputPathsMap: at most 100 keys of [A-Za-z0-9_-], not starting with AWS, valid paths", () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, "$.detail"]));
    expect(t({ InputPathsMap: many, InputTemplate: '"x"' })).toMatch(
      /inputPathsMap' .*less than or equal to 100$/,
    );
    const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "$.detail"]));
    validateTargetInput({ InputTransformer: { InputPathsMap: hundred, InputTemplate: '"x"' } });
    for (const key of ["a.b", "", "aws.events.rule-arn", "a b", "é"])
      expect(t({ InputPathsMap: { [key]: "$.detail" }, InputTemplate: '"x"' })).toMatch(
        /Map keys must satisfy/,
      );
    expect(t({ InputPathsMap: { AWSkey: "$.detail" }, InputTemplate: '"x"' })).toMatch(/reserved key AWSkey/);
    expect(t({ InputPathsMap: { k: "detail" }, InputTemplate: '"<k>"' })).toBe(
      "InputPathsMap for target t1 contains invalid JSON path detail.",
    );
    expect(t({ InputPathsMap: { k: 5 }, InputTemplate: '"<k>"' })).toMatch(/invalid JSON path 5/);
    expect(t({ InputPathsMap: [], InputTemplate: '"x"' })).toMatch(/must be an object/);
  });

  it("a template that looks like JSON must be JSON once filled, with no placeholder as a key", () => {
    const map = { k: "$.detail" };
    expect(t({ InputPathsMap: map, InputTemplate: '{"a": <k>' })).toMatch(/not valid JSON once/);
    expect(t({ InputPathsMap: map, InputTemplate: '{"a": <k><k>}' })).toMatch(/not valid JSON once/);
    expect(t({ InputPathsMap: map, InputTemplate: "{<k>: 1}" })).toMatch(/not valid JSON once/);
    expect(t({ InputPathsMap: map, InputTemplate: '{"<k>": 1}' })).toMatch(/placeholder as an object key/);
    expect(t({ InputPathsMap: map, InputTemplate: '[{"x-<k>": 1}]' })).toMatch(
      /placeholder as an object key/,
    );
    validateTargetInput({
      InputTransformer: { InputPathsMap: map, InputTemplate: '{"a": "<k>", "b": [<k>]}' },
    });
    // not JSON-looking: plain text, accepted
    validateTargetInput({ InputTransformer: { InputPathsMap: map, InputTemplate: "value: <k> {" } });
  });
});

describe("JSONPath", () => {
  it("parses the supported forms only", () => {
    expect(parseJsonPath("$.detail.a-b_c/d.0[2][*].*")?.steps).toEqual([
      { kind: "member", name: "detail" },
      { kind: "member", name: "a-b_c/d" },
      { kind: "member", name: "0" },
      { kind: "index", index: 2 },
      { kind: "all" },
      { kind: "all" },
    ]);
    expect(parseJsonPath("$")?.steps).toEqual([]);
    expect(parseJsonPath("$.détail")).toBeDefined();
  });

  it("selects definite paths, wildcards as lists", () => {
    const doc = { a: [{ b: 1 }, { b: 2 }, { c: 3 }], o: { x: 1, y: 2 } };
    const sel = (p: string) => selectPath(parseJsonPath(p)!, doc);
    expect(sel("$.a[1].b")).toEqual({ found: true, value: 2 });
    expect(sel("$.a[5]")).toEqual({ found: false });
    expect(sel("$.a.b")).toEqual({ found: false });
    expect(sel("$.a[*].b")).toEqual({ found: true, value: [1, 2] });
    expect(sel("$.o.*")).toEqual({ found: true, value: [1, 2] });
    expect(sel("$.toString")).toEqual({ found: false });
  });
});

describe("properties", () => {
  const json = fc.jsonValue({ maxDepth: 4 });
  const event = fc
    .record({
      detail: fc.dictionary(fc.constantFrom("a", "b", "c-d", "e_f"), json),
      resources: fc.array(fc.string()),
    })
    .map((r): EventEnvelope => ({ ...ec2, detail: r.detail, resources: r.resources }));
  const pathText = fc.oneof(
    fc.constantFrom(
      "$",
      "$.detail",
      "$.detail.a",
      "$.detail.c-d",
      "$.detail.a[0]",
      "$.detail.*",
      "$.resources[*]",
      "$.detail.b.a",
    ),
    fc.string({ maxLength: 12 }).map((s) => `$.${s}`),
  );
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("a", "b", "k-1", "k_2") },
    { weight: 1, arbitrary: fc.constantFrom("AWSx", "bad.key", "", "undefined-key") },
  );
  /** Every valid key of `key` defined: templates then mostly pass validation. */
  const fullMap = fc.record({ a: pathText, b: pathText, "k-1": pathText, k_2: pathText });
  const piece = fc.oneof(
    // with the starts of escapes a placeholder could wrongly complete (`\u00<k>`)
    fc.constantFrom(
      '"',
      "{",
      "}",
      "[",
      "]",
      ":",
      ",",
      " ",
      "\\",
      '\\"',
      "\\u00",
      "<",
      ">",
      "null",
      "1",
      '"s"',
      "0",
    ),
    key.map((k) => `<${k}>`),
    fc.constantFrom(
      "<aws.events.rule-arn>",
      "<aws.events.event>",
      "<aws.events.event.json>",
      "<aws.events.event.ingestion-time>",
    ),
    fc.string({ maxLength: 4 }),
  );
  const template = fc.oneof(
    { weight: 2, arbitrary: fc.array(piece, { maxLength: 12 }).map((ps) => ps.join("")) },
    // shapes that are often valid JSON templates
    {
      weight: 2,
      arbitrary: fc
        .tuple(key, key)
        .map(([a, b]) => `{"x": <${a}>, "y": "v <${b}> \\"<${a}>\\"", "z": [<${b}>, <aws.events.event>]}`),
    },
    { weight: 1, arbitrary: key.map((a) => `"text <${a}> <aws.events.rule-name>"`) },
    { weight: 1, arbitrary: fc.array(piece, { maxLength: 6 }).map((ps) => `{"k": "${ps.join("")}"}`) },
  );
  const input = fc.oneof(
    fc.string(),
    json.map((v) => JSON.stringify(v)),
  );
  const transformer = fc.oneof(
    { weight: 4, arbitrary: fc.record({ InputPathsMap: fullMap, InputTemplate: template }) },
    {
      weight: 1,
      arbitrary: fc.record(
        { InputPathsMap: fc.dictionary(key, fc.oneof(pathText, fc.integer())), InputTemplate: template },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: fc.anything() },
  );
  const target: fc.Arbitrary<TargetInputMembers> = fc.oneof(
    fc.record({ Id: fc.constant("t") }),
    fc.record({ Id: fc.constant("t"), Input: input }),
    fc.record({ Id: fc.constant("t"), InputPath: pathText }),
    { weight: 4, arbitrary: fc.record({ Id: fc.constant("t"), InputTransformer: transformer }) },
    fc.record(
      { Id: fc.constant("t"), Input: input, InputPath: pathText, InputTransformer: transformer },
      { requiredKeys: [] },
    ),
  );

  it("validate throws nothing but InvalidTargetInputError", () => {
    fc.assert(
      fc.property(fc.oneof(target, fc.anything() as fc.Arbitrary<TargetInputMembers>), (t) => {
        try {
          validateTargetInput(t ?? {});
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidTargetInputError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("render of a validated target never throws, and gives JSON when the template, Input or InputPath is JSON", () => {
    let transformers = 0;
    let jsonTemplates = 0;
    fc.assert(
      fc.property(target, event, (t, e) => {
        try {
          validateTargetInput(t);
        } catch {
          return;
        }
        const out = renderTargetInput(t, e, ctx);
        expect(typeof out).toBe("string");
        const tr = t.InputTransformer as { InputTemplate?: string } | undefined;
        if (tr && typeof tr.InputTemplate === "string") {
          transformers++;
          let templateIsJson = true;
          try {
            JSON.parse(
              tr.InputTemplate.replace(/<[A-Za-z0-9_.-]+>/g, (m, o: number, s: string) =>
                inQuotes(s, o) ? "x" : "null",
              ),
            );
          } catch {
            templateIsJson = false;
          }
          if (templateIsJson) {
            jsonTemplates++;
            expect(() => JSON.parse(out) as unknown).not.toThrow();
          }
        } else expect(() => JSON.parse(out) as unknown).not.toThrow();
      }),
      { numRuns: 3000 },
    );
    // The generators reach transformers (about 110 of the 3,000 runs, 75 of them JSON templates) often
    // enough; the bounds sit far below the means so that a random run cannot miss them.
    expect(transformers).toBeGreaterThan(50);
    expect(jsonTemplates).toBeGreaterThan(20);
  });
});

/** Whether position `o` of a template is inside a JSON string (a second, simpler reading). */
function inQuotes(s: string, o: number): boolean {
  let inside = false;
  for (let i = 0; i < o; i++) {
    if (s[i] === "\\" && inside) {
      if (s[i + 1] !== "<") i++;
    } else if (s[i] === '"') inside = !inside;
  }
  return inside;
}
