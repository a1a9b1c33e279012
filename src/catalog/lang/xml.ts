/**
 * The one XML reader: a non-validating reader for manifests (packages.config, a jar's embedded
 * pom.xml) and OVAL feeds: elements, attributes, text, CDATA; comments, processing instructions
 * and DOCTYPE are skipped. Only the predefined and numeric entities are expanded (no DTD
 * entities, so no billion-laughs). Malformed input (unclosed or mismatched tags, text outside
 * the root) is an XmlError, so a broken file becomes a recorded problem instead of a partial
 * inventory.
 *
 * Iterative and linear: indexOf scans, an explicit stack, and limits on depth and element count.
 * Kept over fast-xml-parser on a measurement: 4x faster on the OVAL feeds, 10x on the manifests
 * (docs/inventory.md, "One reader per format").
 */

export class XmlError extends Error {
  override readonly name = "XmlError";
}

export interface XmlElement {
  /** The tag name without its namespace prefix (`pom:project` → `project`). */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), entity-decoded, not trimmed. */
  text: string;
}

export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
}

const DEFAULT_LIMITS: XmlLimits = { maxDepth: 256, maxElements: 500_000 };

const NAMED = new Map([
  ["lt", "<"],
  ["gt", ">"],
  ["amp", "&"],
  ["quot", '"'],
  ["apos", "'"],
]);

/** `&#...;`, `&#x...;` or a predefined entity's replacement; undefined for anything else. */
function entity(s: string, start: number, end: number): string | undefined {
  if (s.charCodeAt(start) !== 0x23 /* # */) return NAMED.get(s.slice(start, end));
  const hex = s.charCodeAt(start + 1) === 0x78; /* x */
  const from = start + (hex ? 2 : 1);
  const n = end - from;
  if (n < 1 || n > (hex ? 6 : 7)) return undefined;
  let cp = 0;
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    const d =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : hex && (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66
          ? (c | 0x20) - 0x57
          : -1;
    if (d < 0) return undefined;
    cp = cp * (hex ? 16 : 10) + d;
  }
  return cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
}

/** Expands the predefined and numeric entities; anything else (`&x;`, a lone `&`) stays as written. */
function decode(s: string): string {
  let amp = s.indexOf("&");
  if (amp < 0) return s;
  let out = "";
  let done = 0;
  while (amp >= 0) {
    const semi = s.indexOf(";", amp + 1);
    if (semi < 0) break;
    const rep = semi - amp <= 10 ? entity(s, amp + 1, semi) : undefined;
    if (rep === undefined) {
      amp = s.indexOf("&", amp + 1);
      continue;
    }
    out += s.slice(done, amp) + rep;
    done = semi + 1;
    amp = s.indexOf("&", done);
  }
  return out + s.slice(done);
}

function localName(qname: string): string {
  const i = qname.indexOf(":");
  return i < 0 ? qname : qname.slice(i + 1);
}

/** 1-based line of an offset, for error messages only (so computed lazily). */
function lineOf(text: string, pos: number): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < pos; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

const NAME_END = /[\s/>]/g;
const ATTR = /\s*([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;

export function parseXml(input: string, limits: XmlLimits = DEFAULT_LIMITS): XmlElement {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const fail = (msg: string, pos: number): never => {
    throw new XmlError(`line ${lineOf(text, pos)}: ${msg}`);
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let i = 0;
  const skipTo = (end: string, from: number, what: string): number => {
    const j = text.indexOf(end, from);
    if (j < 0) fail(`unexpected end of file inside ${what}`, from);
    return j + end.length;
  };

  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = text.slice(i, lt < 0 ? text.length : lt);
    const top = stack[stack.length - 1];
    if (top) top.text += decode(chunk);
    else if (chunk.trim()) fail("text outside the root element", i);
    if (lt < 0) break;

    if (text.startsWith("<?", lt)) {
      i = skipTo("?>", lt + 2, "a processing instruction");
    } else if (text.startsWith("<!--", lt)) {
      i = skipTo("-->", lt + 4, "a comment");
    } else if (text.startsWith("<![CDATA[", lt)) {
      const end = skipTo("]]>", lt + 9, "CDATA");
      if (!top) fail("CDATA outside the root element", lt);
      top!.text += text.slice(lt + 9, end - 3);
      i = end;
    } else if (text.startsWith("<!", lt)) {
      // DOCTYPE, possibly with an internal subset in brackets; its declarations are ignored.
      let j = lt + 2;
      let depth = 0;
      for (; j < text.length; j++) {
        const c = text[j];
        if (c === "[") depth++;
        else if (c === "]") depth--;
        else if (c === ">" && depth <= 0) break;
      }
      if (j >= text.length) fail("unexpected end of file inside a declaration", lt);
      i = j + 1;
    } else if (text.startsWith("</", lt)) {
      const gt = text.indexOf(">", lt);
      if (gt < 0) fail("unexpected end of file inside an end tag", lt);
      const name = localName(text.slice(lt + 2, gt).trim());
      const open = stack.pop();
      if (!open) fail(`end tag </${name}> without a start tag`, lt);
      if (open!.name !== name) fail(`end tag </${name}> does not match <${open!.name}>`, lt);
      i = gt + 1;
    } else {
      NAME_END.lastIndex = lt + 1;
      const m = NAME_END.exec(text);
      if (!m) fail("unexpected end of file inside a start tag", lt);
      const qname = text.slice(lt + 1, m!.index);
      if (!qname) fail("empty tag name", lt);
      const el: XmlElement = { name: localName(qname), attrs: {}, children: [], text: "" };
      let p = m!.index;
      for (;;) {
        ATTR.lastIndex = p;
        const a = ATTR.exec(text);
        if (!a) break;
        el.attrs[localName(a[1]!)] = decode(a[2] ?? a[3] ?? "");
        p = ATTR.lastIndex;
      }
      while (p < text.length && /\s/.test(text[p]!)) p++;
      let selfClosing = false;
      if (text.startsWith("/>", p)) {
        selfClosing = true;
        p += 2;
      } else if (text[p] === ">") {
        p += 1;
      } else if (p >= text.length) {
        fail("unexpected end of file inside a start tag", lt);
      } else {
        fail(`malformed start tag <${qname}>`, lt);
      }
      if (++count > limits.maxElements) fail(`more than ${limits.maxElements} elements`, lt);
      if (top) top.children.push(el);
      else if (root) fail("more than one root element", lt);
      else root = el;
      if (!selfClosing) {
        if (stack.length >= limits.maxDepth) fail(`elements nested deeper than ${limits.maxDepth}`, lt);
        stack.push(el);
      }
      i = p;
    }
  }
  const open = stack[stack.length - 1];
  if (open) fail(`unexpected end of file: <${open.name}> is not closed`, text.length);
  if (!root) fail("no root element", 0);
  return root!;
}

/** Direct children named `name`. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Trimmed text of the first direct child named `name`. */
export function childText(el: XmlElement, name: string): string | undefined {
  const c = el.children.find((x) => x.name === name);
  const t = c?.text.trim();
  return t ? t : undefined;
}
