/**
 * The elements of one top-level JSON array (`CVE_Items`, `vulnerabilities`) parsed one at a
 * time. NVD's yearly files decompress to hundreds of megabytes: JSON.parse of the whole text
 * would need the string (V8 caps strings near 512 MiB) and the whole object tree at once;
 * scanning the bytes for element boundaries needs neither.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

export class JsonScanError extends Error {
  override readonly name = "JsonScanError";
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Index just past the string starting at `i` (which is a quote). */
function skipString(buf: Buffer, i: number): number {
  for (let j = i + 1; j < buf.length; j++) {
    const b = buf[j]!;
    if (b === BACKSLASH) j++;
    else if (b === QUOTE) return j + 1;
  }
  throw new JsonScanError("unterminated string (truncated document)");
}

/** Index just past the value starting at `i`. */
function skipValue(buf: Buffer, i: number): number {
  const b = buf[i];
  if (b === QUOTE) return skipString(buf, i);
  if (b === OPEN_BRACE || b === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < buf.length; j++) {
      const c = buf[j]!;
      if (c === QUOTE) j = skipString(buf, j) - 1;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) return j + 1;
      }
    }
    throw new JsonScanError("unbalanced brackets (truncated document)");
  }
  let j = i;
  while (
    j < buf.length &&
    buf[j] !== COMMA &&
    buf[j] !== CLOSE_BRACE &&
    buf[j] !== CLOSE_BRACKET &&
    !isSpace(buf[j]!)
  ) {
    j++;
  }
  return j;
}

/**
 * Yields the elements of the array under the top-level key `key` of the JSON object in `buf`,
 * each JSON.parsed. Throws JsonScanError when the document is not such an object or is cut off
 * (elements before the damage have been yielded by then).
 */
export function* topLevelArrayItems(buf: Buffer, key: string): Generator<unknown> {
  let i = 0;
  const skipWs = () => {
    while (i < buf.length && isSpace(buf[i]!)) i++;
  };
  skipWs();
  if (buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 3;
  skipWs();
  if (buf[i] !== OPEN_BRACE) throw new JsonScanError("not a JSON object");
  i++;
  for (;;) {
    skipWs();
    if (buf[i] === CLOSE_BRACE) throw new JsonScanError(`no "${key}" array`);
    if (buf[i] !== QUOTE) throw new JsonScanError(`malformed object at byte ${i}`);
    const end = skipString(buf, i);
    const name = JSON.parse(buf.toString("utf8", i, end)) as string;
    i = end;
    skipWs();
    if (buf[i] !== 0x3a) throw new JsonScanError(`expected ':' at byte ${i}`);
    i++;
    skipWs();
    if (name === key) break;
    i = skipValue(buf, i);
    skipWs();
    if (buf[i] === COMMA) i++;
  }
  if (buf[i] !== OPEN_BRACKET) throw new JsonScanError(`"${key}" is not an array`);
  i++;
  for (;;) {
    skipWs();
    if (i >= buf.length) throw new JsonScanError(`"${key}" array cut off (truncated document)`);
    if (buf[i] === CLOSE_BRACKET) return;
    const end = skipValue(buf, i);
    yield JSON.parse(buf.toString("utf8", i, end));
    i = end;
    skipWs();
    if (buf[i] === COMMA) i++;
    else if (buf[i] !== CLOSE_BRACKET) throw new JsonScanError(`expected ',' or ']' at byte ${i}`);
  }
}
