import fc from "fast-check";

/**
 * fast-check generators for property tests: patterns over a small vocabulary of keys and values
 * (so that random events often touch them), using every operator, `$or`, dotted keys and nesting;
 * and events over the same vocabulary, with arrays of values and of objects.
 */

const KEYS = ["a", "b", "c", "d.e"];
const STRINGS = ["x", "y", "X", "xy", "yx", "", "10.0.0.1", "10.0.0.7", "2001:db8::1", "ß", "SS"];
const NUMBERS = [0, 1, 2.5, -1, 300, 1e21];

const str = fc.constantFrom(...STRINGS);
const num = fc.constantFrom(...NUMBERS);
const nonEmpty = fc.constantFrom(...STRINGS.filter((s) => s !== ""));

const matcher: fc.Arbitrary<unknown> = fc.oneof(
  str,
  num,
  fc.boolean(),
  fc.constant(null),
  str.map((s) => ({ prefix: s })),
  str.map((s) => ({ suffix: s })),
  str.map((s) => ({ prefix: { "equals-ignore-case": s } })),
  str.map((s) => ({ suffix: { "equals-ignore-case": s } })),
  str.map((s) => ({ "equals-ignore-case": s })),
  fc.constantFrom("x*", "*y", "*", "x*y", "*x*", "", "10.*").map((w) => ({ wildcard: w })),
  str.map((s) => ({ "anything-but": s })),
  num.map((n) => ({ "anything-but": n })),
  fc.uniqueArray(str, { minLength: 1, maxLength: 3 }).map((l) => ({ "anything-but": l })),
  fc.uniqueArray(num, { minLength: 1, maxLength: 3 }).map((l) => ({ "anything-but": l })),
  nonEmpty.map((s) => ({ "anything-but": { prefix: s } })),
  nonEmpty.map((s) => ({ "anything-but": { suffix: [s] } })),
  str.map((s) => ({ "anything-but": { "equals-ignore-case": s } })),
  fc.constantFrom("x*", "*y").map((w) => ({ "anything-but": { wildcard: w } })),
  fc
    .constantFrom(
      [">", 0],
      [">=", 1],
      ["<", 2.5],
      ["<=", 0],
      ["=", 300],
      [">", 0, "<=", 2.5],
      [">=", -1, "<", 1],
    )
    .map((n) => ({ numeric: n })),
  fc.constantFrom("10.0.0.0/24", "10.0.0.4/30", "2001:db8::/32").map((c) => ({ cidr: c })),
  fc.boolean().map((b) => ({ exists: b })),
);

const leaf = fc.array(matcher, { minLength: 1, maxLength: 3 });

/** A pattern object (not yet JSON text). */
export const patternObject: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  object: fc
    .tuple(
      fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 3 }),
      fc.array(fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: tie("nested") }), {
        minLength: 3,
        maxLength: 3,
      }),
      fc.option(fc.array(tie("orBranch"), { minLength: 2, maxLength: 3 }), { freq: 4 }),
    )
    .map(([keys, values, or]) => {
      const o: Record<string, unknown> = {};
      keys.forEach((k, i) => (o[k] = values[i]));
      if (or) o["$or"] = or;
      return o;
    }),
  nested: fc
    .tuple(
      fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 2 }),
      fc.array(leaf, { minLength: 2, maxLength: 2 }),
    )
    .map(([keys, values]) => Object.fromEntries(keys.map((k, i) => [k, values[i]]))),
  orBranch: fc
    .tuple(
      fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 2 }),
      fc.array(leaf, { minLength: 2, maxLength: 2 }),
    )
    .map(([keys, values]) => Object.fromEntries(keys.map((k, i) => [k, values[i]]))),
})).object as fc.Arbitrary<Record<string, unknown>>;

const scalar: fc.Arbitrary<unknown> = fc.oneof(str, num, fc.boolean(), fc.constant(null));

/** An event over the same keys: scalars, arrays of scalars, objects, arrays of objects. */
export const eventObject: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  obj: fc.dictionary(fc.constantFrom(...KEYS, "d", "e"), tie("value"), { maxKeys: 4 }),
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 5, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
    { weight: 2, arbitrary: tie("obj") },
    { weight: 1, arbitrary: fc.array(tie("obj"), { maxLength: 3 }) },
  ),
})).obj as fc.Arbitrary<Record<string, unknown>>;

const small = fc.constantFrom<unknown>("x", "y", "xy", 1, null);
const fieldMatcher = fc.oneof(
  small.map((v) => [v]),
  fc.constant([{ exists: true }]),
  fc.constant([{ exists: false }]),
  fc.constant([{ "anything-but": "x" }]),
  fc.constant([{ prefix: "x" }]),
  fc.constant(["x", { exists: false }]),
);
const element = fc.dictionary(
  fc.constantFrom("p", "q", "r"),
  fc.oneof(small, fc.array(small, { maxLength: 2 })),
  {
    maxKeys: 3,
  },
);

/**
 * Cases where array consistency decides: a pattern on several fields of the objects in an array,
 * and an event whose array spreads those fields over its elements (sometimes arrays of arrays).
 */
export const arrayCase: fc.Arbitrary<{ pattern: Record<string, unknown>; event: Record<string, unknown> }> =
  fc
    .tuple(
      fc.uniqueArray(fc.constantFrom("p", "q", "r"), { minLength: 2, maxLength: 3 }),
      fc.array(fieldMatcher, { minLength: 3, maxLength: 3 }),
      fc.array(element, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      fc.option(fieldMatcher),
    )
    .map(([fields, matchers, elements, nest, top]) => {
      const inner = Object.fromEntries(fields.map((f, i) => [f, matchers[i]]));
      const pattern: Record<string, unknown> = { k: inner };
      if (top) pattern["t"] = top;
      const arr = nest && elements.length > 1 ? [elements.slice(0, 1), elements.slice(1)] : elements;
      const event: Record<string, unknown> = { k: arr };
      if (top) event["t"] = "x";
      return { pattern, event };
    });
