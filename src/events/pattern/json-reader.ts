import {
  charDesc,
  describeLocation,
  isJavaIdentifierPart,
  isJavaIdentifierStart,
  lineAndColumn,
} from "./jackson-text.js";

/**
 * A streaming JSON reader that behaves like the Jackson parser EventBridge reads patterns with:
 * tokens one at a time (so the first problem met, syntactic or not, is the one reported, as in
 * AWS), Jackson's error texts, its idea of "where the parser is" for locations, duplicate keys
 * kept (the pattern compiler decides what they mean), nothing read after the value the caller
 * stops at. Like Jackson it reads a string's content only when asked (an unread malformed string
 * fails when the reader moves past it), and after a field name it has already looked at the start
 * of the value. Nesting deeper than 1000 and numbers longer than 1000 characters are refused as by
 * Jackson's StreamReadConstraints, which also bounds the work for hostile input.
 */

export type JsonTokenKind =
  | "startObject"
  | "endObject"
  | "startArray"
  | "endArray"
  | "name"
  | "string"
  | "int"
  | "float"
  | "true"
  | "false"
  | "null";

export interface JsonToken {
  kind: JsonTokenKind;
  /** Offset of the token's first character. */
  start: number;
  /** Offset just after the token. */
  end: number;
  /** Decoded text of names and strings, raw text of numbers and literals. */
  text: string;
  /** A malformed string: why, and where Jackson would say so. */
  error?: JsonReadError;
}

/**
 * A syntax error, with the offset Jackson's location would point at: after the text read for
 * most errors, on the character itself for errors about one character (Jackson 2.13+ reports
 * those one position back; AWS's recorded "{'bad': …" answer says column 2).
 */
export class JsonReadError extends Error {
  override readonly name = "JsonReadError";
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
  }
}

export interface JsonReaderLimits {
  maxDepth?: number;
  maxNumberLength?: number;
}

const VALID_VALUES = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";
const MAX_ERROR_TOKEN = 256;

interface Scope {
  kind: "object" | "array";
  /** Offset of the opening bracket (Jackson reports where a scope started). */
  start: number;
  entries: number;
}

export class JsonReader {
  private readonly scopes: Scope[] = [];
  private ptr = 0;
  private pending: JsonToken | null = null;
  private cur: JsonToken | null = null;
  private curRead = false;
  private readonly maxDepth: number;
  private readonly maxNumberLength: number;

  constructor(
    readonly text: string,
    limits: JsonReaderLimits = {},
  ) {
    this.maxDepth = limits.maxDepth ?? 1000;
    this.maxNumberLength = limits.maxNumberLength ?? 1000;
  }

  /** Where Jackson's input pointer stands: what its error locations name. */
  get position(): number {
    return this.ptr;
  }

  get current(): JsonToken | null {
    return this.cur;
  }

  /** The next token, or null at the end of the input at the top level. */
  next(): JsonToken | null {
    if (this.pending) {
      const t = this.pending;
      this.pending = null;
      return this.setCurrent(t);
    }
    this.leaveCurrentString();
    let i = this.skipSpace(this.ptr);
    const scope = this.scopes[this.scopes.length - 1];
    if (i < 0) {
      if (!scope) {
        this.ptr = this.text.length;
        this.cur = null;
        return null;
      }
      throw this.fail(
        `Unexpected end-of-input: expected close marker for ${scope.kind === "object" ? "Object" : "Array"} (start marker at ${this.describe(scope.start)})`,
        this.text.length,
      );
    }
    let c = this.text.charCodeAt(i);
    if (c === 0x5d || c === 0x7d) return this.setCurrent(this.close(i, c));
    if (scope && scope.entries > 0) {
      if (c !== 0x2c) {
        throw this.fail(
          `Unexpected character (${charDesc(c)}): was expecting comma to separate ${scope.kind === "object" ? "Object" : "Array"} entries`,
          i,
        );
      }
      i = this.skipSpace(i + 1);
      if (i < 0) throw this.eofBetween(scope);
      c = this.text.charCodeAt(i);
    }
    if (scope) scope.entries++;
    if (scope?.kind === "object") {
      if (c !== 0x22) {
        throw this.fail(
          `Unexpected character (${charDesc(c)}): was expecting double-quote to start field name`,
          i,
        );
      }
      const name = this.scanString(i, "name");
      if (name.error) throw name.error;
      let j = this.skipSpace(name.end);
      if (j < 0) throw this.eofBetween(scope);
      if (this.text.charCodeAt(j) !== 0x3a) {
        throw this.fail(
          `Unexpected character (${charDesc(this.text.charCodeAt(j))}): was expecting a colon to separate field name and value`,
          j,
        );
      }
      j = this.skipSpace(j + 1);
      if (j < 0) throw this.eofBetween(scope);
      // Jackson reads the start of the value with the name: its errors come first, and the
      // location after a name is already past the value's first token.
      this.pending = this.scanValue(j);
      this.cur = name;
      this.curRead = true;
      return name;
    }
    return this.setCurrent(this.scanValue(i));
  }

  /** Jackson's getText() for the current token; reading a string's content may fail. */
  tokenText(): string {
    const t = this.cur;
    if (!t) return "";
    if (t.kind === "string" && !this.curRead) {
      if (t.error) throw t.error;
      this.curRead = true;
      this.ptr = t.end;
    }
    return t.text;
  }

  /** `[Source: …; line: L, column: C]` for an offset (Jackson's JsonLocation.toString()). */
  describe(offset: number): string {
    const { line, column } = lineAndColumn(this.text, offset);
    return describeLocation(this.text, line, column);
  }

  private setCurrent(t: JsonToken): JsonToken {
    this.cur = t;
    this.curRead = t.kind !== "string";
    return t;
  }

  /** Moving past a string nobody read: Jackson skips it, and a malformed one fails then. */
  private leaveCurrentString(): void {
    const t = this.cur;
    if (t && t.kind === "string" && !this.curRead) {
      if (t.error) throw t.error;
      this.curRead = true;
      this.ptr = t.end;
    }
  }

  private fail(reason: string, offset: number): JsonReadError {
    this.ptr = offset;
    return new JsonReadError(reason, offset);
  }

  private eofBetween(scope: Scope): JsonReadError {
    return this.fail(
      `Unexpected end-of-input within/between ${scope.kind === "object" ? "Object" : "Array"} entries`,
      this.text.length,
    );
  }

  /** Index of the next character that is not white space, -1 at the end. */
  private skipSpace(from: number): number {
    const s = this.text;
    for (let p = from; p < s.length; p++) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (c === 0x2f) {
        throw this.fail(
          "Unexpected character ('/' (code 47)): maybe a (non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser)",
          p,
        );
      }
      if (c < 0x20) {
        throw this.fail(
          `Illegal character (${charDesc(c)}): only regular white space (\\r, \\n, \\t) is allowed between tokens`,
          p,
        );
      }
      return p;
    }
    return -1;
  }

  private close(i: number, c: number): JsonToken {
    const scope = this.scopes[this.scopes.length - 1];
    const wanted = c === 0x7d ? "object" : "array";
    if (!scope || scope.kind !== wanted) {
      const expected = c === 0x7d ? "]" : "}";
      const desc = !scope ? "root" : scope.kind === "object" ? "Object" : "Array";
      // The root scope "starts" at line 1, column 0 in Jackson.
      const where = scope ? this.describe(scope.start) : describeLocation(this.text, 1, 0);
      throw this.fail(
        `Unexpected close marker '${String.fromCharCode(c)}': expected '${expected}' (for ${desc} starting at ${where})`,
        i,
      );
    }
    this.scopes.pop();
    this.ptr = i + 1;
    return {
      kind: c === 0x7d ? "endObject" : "endArray",
      start: i,
      end: i + 1,
      text: String.fromCharCode(c),
    };
  }

  private open(i: number, kind: "object" | "array"): JsonToken {
    if (this.scopes.length + 1 > this.maxDepth) {
      throw this.fail(
        `Document nesting depth (${this.scopes.length + 1}) exceeds the maximum allowed (${this.maxDepth}, from \`StreamReadConstraints.getMaxNestingDepth()\`)`,
        i + 1,
      );
    }
    this.scopes.push({ kind, start: i, entries: 0 });
    this.ptr = i + 1;
    return {
      kind: kind === "object" ? "startObject" : "startArray",
      start: i,
      end: i + 1,
      text: kind === "object" ? "{" : "[",
    };
  }

  private scanValue(i: number): JsonToken {
    const c = this.text.charCodeAt(i);
    switch (c) {
      case 0x22: {
        const t = this.scanString(i, "value");
        this.ptr = i + 1; // a string is read only when asked: Jackson stands after the quote
        return t;
      }
      case 0x7b:
        return this.open(i, "object");
      case 0x5b:
        return this.open(i, "array");
      case 0x74:
        return this.keyword(i, "true");
      case 0x66:
        return this.keyword(i, "false");
      case 0x6e:
        return this.keyword(i, "null");
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.scanNumber(i);
        return this.oddValue(i);
    }
  }

  private keyword(i: number, word: "true" | "false" | "null"): JsonToken {
    const s = this.text;
    for (let k = 1; k < word.length; k++) {
      if (s[i + k] !== word[k]) throw this.invalidToken(i, i + k);
    }
    const after = i + word.length;
    // Jackson only objects to a following identifier character ("truex").
    if (after < s.length && s.charCodeAt(after) >= 0x30 && isJavaIdentifierPart(s[after]!)) {
      throw this.invalidToken(i, after);
    }
    this.ptr = after;
    return { kind: word, start: i, end: after, text: word };
  }

  /** "Unrecognized token 'xyz'": the text read so far and the identifier characters after it. */
  private invalidToken(start: number, from: number): JsonReadError {
    const s = this.text;
    let token = s.slice(start, from);
    let p = from;
    while (p < s.length && isJavaIdentifierPart(s[p]!)) {
      token += s[p];
      p++;
      if (token.length >= MAX_ERROR_TOKEN) {
        token += "...";
        break;
      }
    }
    return this.fail(`Unrecognized token '${token}': was expecting ${VALID_VALUES}`, p);
  }

  private oddValue(i: number): JsonToken {
    const s = this.text;
    const ch = s[i]!;
    if (ch === "N" || ch === "I") {
      const word = ch === "N" ? "NaN" : "Infinity";
      for (let k = 1; k < word.length; k++) if (s[i + k] !== word[k]) throw this.invalidToken(i, i + k);
      throw this.fail(
        `Non-standard token '${word}': enable \`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS\` to allow`,
        i + word.length,
      );
    }
    if (ch === "+") {
      throw this.fail(
        "Unexpected character ('+' (code 43)) in numeric value: JSON spec does not allow numbers to have plus signs: enable `JsonReadFeature.ALLOW_LEADING_PLUS_SIGN_FOR_NUMBERS` to allow",
        i,
      );
    }
    if (isJavaIdentifierStart(ch)) throw this.invalidToken(i, i + 1);
    throw this.fail(
      `Unexpected character (${charDesc(s.charCodeAt(i))}): expected a valid value ${VALID_VALUES}`,
      i,
    );
  }

  private scanNumber(i: number): JsonToken {
    const s = this.text;
    let p = i;
    const digitAt = (q: number) => q < s.length && s.charCodeAt(q) >= 0x30 && s.charCodeAt(q) <= 0x39;
    const numberChar = (q: number, comment: string) =>
      q >= s.length
        ? this.fail("Unexpected end-of-input in a Number value", s.length)
        : this.fail(`Unexpected character (${charDesc(s.charCodeAt(q))}) in numeric value: ${comment}`, q);
    if (s[p] === "-") {
      p++;
      if (!digitAt(p)) {
        if (s[p] === "I" && s.startsWith("Infinity", p)) {
          throw this.fail(
            "Non-standard token '-Infinity': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
            p + 8,
          );
        }
        throw numberChar(p, "expected digit (0-9) to follow minus sign, for valid numeric value");
      }
    }
    if (s[p] === "0") {
      p++;
      if (digitAt(p)) throw this.fail("Invalid numeric value: Leading zeroes not allowed", p);
    } else {
      while (digitAt(p)) p++;
    }
    let float = false;
    if (s[p] === ".") {
      float = true;
      p++;
      if (!digitAt(p)) throw numberChar(p, "Decimal point not followed by a digit");
      while (digitAt(p)) p++;
    }
    if (s[p] === "e" || s[p] === "E") {
      float = true;
      p++;
      if (s[p] === "+" || s[p] === "-") p++;
      if (!digitAt(p)) throw numberChar(p, "Exponent indicator not followed by a digit");
      while (digitAt(p)) p++;
    }
    if (p - i > this.maxNumberLength) {
      throw this.fail(
        `Number value length (${p - i}) exceeds the maximum allowed (${this.maxNumberLength}, from \`StreamReadConstraints.getMaxNumberLength()\`)`,
        p,
      );
    }
    this.ptr = p;
    return { kind: float ? "float" : "int", start: i, end: p, text: s.slice(i, p) };
  }

  /**
   * A string starting at the quote at `i`. Problems in a value are kept in the token (Jackson
   * finds them only when the string is read or skipped); a name's are thrown by the caller.
   */
  private scanString(i: number, what: "name" | "value"): JsonToken {
    const s = this.text;
    let out = "";
    let runStart = i + 1;
    let p = i + 1;
    const broken = (reason: string, offset: number): JsonToken => ({
      kind: what === "name" ? "name" : "string",
      start: i,
      end: offset,
      text: "",
      error: new JsonReadError(reason, offset),
    });
    for (;;) {
      if (p >= s.length) {
        return broken(
          what === "name"
            ? "Unexpected end-of-input in field name"
            : "Unexpected end-of-input: was expecting closing quote for a string value",
          s.length,
        );
      }
      const c = s.charCodeAt(p);
      if (c === 0x22) {
        out += s.slice(runStart, p);
        return { kind: what === "name" ? "name" : "string", start: i, end: p + 1, text: out };
      }
      if (c === 0x5c) {
        out += s.slice(runStart, p);
        const e = p + 1;
        if (e >= s.length) return broken("Unexpected end-of-input in character escape sequence", s.length);
        const ec = s[e]!;
        switch (ec) {
          case '"':
          case "\\":
          case "/":
            out += ec;
            break;
          case "b":
            out += "\b";
            break;
          case "f":
            out += "\f";
            break;
          case "n":
            out += "\n";
            break;
          case "r":
            out += "\r";
            break;
          case "t":
            out += "\t";
            break;
          case "u": {
            let code = 0;
            for (let k = 1; k <= 4; k++) {
              const q = e + k;
              if (q >= s.length)
                return broken("Unexpected end-of-input in character escape sequence", s.length);
              const h = hexValue(s.charCodeAt(q));
              if (h < 0) {
                return broken(
                  `Unexpected character (${charDesc(s.charCodeAt(q))}): expected a hex-digit for character escape sequence`,
                  q,
                );
              }
              code = code * 16 + h;
            }
            out += String.fromCharCode(code);
            p = e + 4;
            break;
          }
          default:
            return broken(`Unrecognized character escape ${charDesc(s.charCodeAt(e))}`, e);
        }
        p = ec === "u" ? p + 1 : e + 1;
        runStart = p;
        continue;
      }
      if (c < 0x20) {
        return broken(
          `Illegal unquoted character (${charDesc(c)}): has to be escaped using backslash to be included in ${what === "name" ? "name" : "string value"}`,
          p,
        );
      }
      p++;
    }
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}
