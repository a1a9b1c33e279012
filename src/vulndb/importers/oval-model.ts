import { parseXml, XmlError, type XmlElement, type XmlLimits } from "../../catalog/lang/xml.js";

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

/** An element of the document (the one XML reader, src/catalog/lang/xml.ts). */
export type XmlNode = XmlElement;

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

/**
 * Vendors' whole-release files run to hundreds of MB (about 100 bytes per element): room for a
 * 1 GB document, a bound on what a hostile one costs.
 */
const OVAL_XML_LIMITS: XmlLimits = { maxDepth: 256, maxElements: 10_000_000 };

const EMPTY: XmlNode = { name: "", attrs: {}, children: [], text: "" };

/** Direct children named `name` (vendors spell the namespace prefixes differently; local names count). */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return node?.children.find((c) => c.name === name);
}

/** An element's text content (trimmed), or undefined when empty. */
export function text(node: XmlNode | undefined): string | undefined {
  const s = node?.text.trim();
  return s ? s : undefined;
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  return node?.attrs[name];
}

/** Every element grouped under a container (`tests`, `objects`, `states`, `variables`), with its tag. */
function elements(container: XmlNode | undefined): { kind: string; node: XmlNode }[] {
  return container ? container.children.map((node) => ({ kind: node.name, node })) : [];
}

const PACKAGE_TESTS = new Set(["dpkginfo_test", "rpminfo_test"]);

/**
 * Parses and indexes an OVAL document. Throws with the parser's message when the XML is not
 * well-formed (truncated, mismatched tags): the importer reports it as a problem.
 */
export function readOval(xml: string): OvalDocument {
  let root: XmlNode;
  try {
    root = parseXml(xml, OVAL_XML_LIMITS);
  } catch (e) {
    if (e instanceof XmlError) throw new Error(`invalid XML at ${e.message}`);
    throw e;
  }
  if (root.name !== "oval_definitions") throw new Error("not an OVAL document: no oval_definitions element");

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
      metadata: child(def, "metadata") ?? EMPTY,
      pairs,
      dangling,
    });
  }
  return { root, generator: child(root, "generator"), definitions, states };
}
