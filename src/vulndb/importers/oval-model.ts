import { XMLParser, XMLValidator } from "fast-xml-parser";

/**
 * An OVAL definitions document reduced to what a package scanner needs: the definitions with
 * their metadata, and for each one the (package names, fixed EVR) pairs its criteria test,
 * i.e. the "installed version less than X" states of dpkginfo/rpminfo tests.
 *
 * Everything else in a criteria tree is a condition on the machine rather than on a package —
 * the OS inventory check (extend_definition), signature key ids (Red Hat: "signed with Red Hat
 * key" only tells third-party rebuilds apart), release-file checks, module streams, the running
 * kernel (Ubuntu's uname/variable tests), kpatch "kernel version equals" — and is not
 * represented; the importer attributes the product (ecosystem) from the document instead.
 * Negated criteria are skipped: "not less than X" never makes a package vulnerable.
 */

/** An XML element as fast-xml-parser gives it: attributes and child arrays by tag name. */
export type XmlNode = { [key: string]: unknown };

export interface PackagePair {
  /** Package names the test's object matches (one for rpminfo, a variable's list for Ubuntu). */
  names: string[];
  /** The EVR of the state, as written (`0:2.6.1-2ubuntu0.1`, `1:1.8.0-1.el9`). */
  evr: string;
}

export interface OvalDefinition {
  id: string;
  class: string;
  node: XmlNode;
  metadata: XmlNode;
  pairs: PackagePair[];
  /** Test references that resolve to nothing (a broken document). */
  dangling: string[];
}

export interface OvalDocument {
  root: XmlNode;
  generator: XmlNode | undefined;
  definitions: OvalDefinition[];
  /** rpmverifyfile/textfilecontent states etc., by id, for product attribution. */
  states: Map<string, { kind: string; node: XmlNode }>;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  // Vendors spell the test namespaces differently (linux:, red-def:, linux-def:); the local
  // names are what matter.
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  textNodeName: "#text",
  // Every element is a list, so that one and many children read the same way.
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

export function children(node: unknown, name: string): XmlNode[] {
  if (typeof node !== "object" || node === null) return [];
  const v = (node as XmlNode)[name];
  if (!Array.isArray(v)) return [];
  return v.map((x) => (typeof x === "object" && x !== null ? (x as XmlNode) : { "#text": x }));
}

export function child(node: unknown, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** An element's text content (trimmed), or undefined when empty. */
export function text(node: XmlNode | undefined): string | undefined {
  if (!node) return undefined;
  const t = node["#text"];
  const s = typeof t === "string" ? t : typeof t === "number" ? String(t) : undefined;
  return s === undefined || s.trim() === "" ? undefined : s.trim();
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  if (!node) return undefined;
  const v = node[name];
  return typeof v === "string" ? v : undefined;
}

/** Every element grouped under a container (`tests`, `objects`, `states`, `variables`), with its tag. */
function elements(container: XmlNode | undefined): { kind: string; node: XmlNode }[] {
  if (!container) return [];
  const out: { kind: string; node: XmlNode }[] = [];
  for (const [kind, v] of Object.entries(container)) {
    if (!Array.isArray(v)) continue;
    for (const n of v) if (typeof n === "object" && n !== null) out.push({ kind, node: n as XmlNode });
  }
  return out;
}

const PACKAGE_TESTS = new Set(["dpkginfo_test", "rpminfo_test"]);

/**
 * Parses and indexes an OVAL document. Throws with the parser's message when the XML is not
 * well-formed (truncated, mismatched tags): the importer reports it as a problem.
 */
export function readOval(xml: string): OvalDocument {
  // The parser itself accepts some malformed input (unclosed elements at the end of a
  // truncated file): validate first, which is cheap next to the parse.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`invalid XML at line ${valid.err.line}: ${valid.err.msg}`);
  const parsed = parser.parse(xml) as XmlNode;
  const root = child(parsed, "oval_definitions");
  if (!root) throw new Error("not an OVAL document: no oval_definitions element");

  const tests = new Map<string, { kind: string; node: XmlNode }>();
  for (const e of elements(child(root, "tests"))) {
    const id = attr(e.node, "id");
    if (id) tests.set(id, e);
  }
  const objects = new Map<string, { kind: string; node: XmlNode }>();
  for (const e of elements(child(root, "objects"))) {
    const id = attr(e.node, "id");
    if (id) objects.set(id, e);
  }
  const states = new Map<string, { kind: string; node: XmlNode }>();
  for (const e of elements(child(root, "states"))) {
    const id = attr(e.node, "id");
    if (id) states.set(id, e);
  }
  const constants = new Map<string, string[]>();
  for (const e of elements(child(root, "variables"))) {
    const id = attr(e.node, "id");
    if (id && e.kind === "constant_variable")
      constants.set(
        id,
        children(e.node, "value").flatMap((v) => text(v) ?? []),
      );
  }

  const namesOf = (objectRef: string | undefined): string[] | undefined => {
    const obj = objectRef ? objects.get(objectRef) : undefined;
    const name = child(obj?.node, "name");
    if (!name) return undefined;
    const varRef = attr(name, "var_ref");
    if (varRef) return constants.get(varRef);
    const n = text(name);
    return n ? [n] : undefined;
  };

  const definitions: OvalDefinition[] = [];
  for (const def of children(child(root, "definitions"), "definition")) {
    const pairs: PackagePair[] = [];
    const dangling: string[] = [];
    const seen = new Set<string>();
    const visit = (criteria: XmlNode, negated: boolean) => {
      const neg = negated !== (attr(criteria, "negate") === "true");
      for (const c of children(criteria, "criterion")) {
        const ref = attr(c, "test_ref");
        if (!ref) continue;
        const test = tests.get(ref);
        if (!test) {
          dangling.push(ref);
          continue;
        }
        if (neg !== (attr(c, "negate") === "true") || !PACKAGE_TESTS.has(test.kind)) continue;
        const objectRef = attr(child(test.node, "object"), "object_ref");
        const names = namesOf(objectRef);
        if (!names) {
          dangling.push(objectRef ?? `${ref} (no object)`);
          continue;
        }
        for (const s of children(test.node, "state")) {
          const stateRef = attr(s, "state_ref");
          const state = stateRef ? states.get(stateRef) : undefined;
          if (!state) {
            dangling.push(stateRef ?? `${ref} (empty state)`);
            continue;
          }
          const evr = child(state.node, "evr");
          const value = text(evr);
          if (!value || attr(evr, "operation") !== "less than") continue;
          const key = `${names.join(" ")}\0${value}`;
          if (seen.has(key)) continue;
          seen.add(key);
          pairs.push({ names, evr: value });
        }
      }
      for (const sub of children(criteria, "criteria")) visit(sub, neg);
    };
    for (const c of children(def, "criteria")) visit(c, false);
    definitions.push({
      id: attr(def, "id") ?? "",
      class: attr(def, "class") ?? "",
      node: def,
      metadata: child(def, "metadata") ?? {},
      pairs,
      dangling,
    });
  }
  return { root, generator: child(root, "generator"), definitions, states };
}
