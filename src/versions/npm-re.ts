/**
 * node-semver's grammar as regular expressions (internal/re.js), used where npm's behaviour is
 * defined by them: the loose version grammar and the range desugaring pipeline. They run only
 * when a range or loose version is first parsed (results are cached by the callers), never in
 * strict version comparison.
 *
 * Like node-semver's `safeRe`, unbounded repeats are capped (`\s` to 1, `\d` to 256,
 * identifier characters to 250): inputs have their whitespace collapsed first, so the caps
 * change nothing for sane input and keep hostile input linear.
 */

const MAX_LENGTH = 256;
const MAX_SAFE_BUILD_LENGTH = MAX_LENGTH - 6;
const LDN = "[a-zA-Z0-9-]";

/** node-semver's makeSafeRegex: bound `X*` and `X+` for the three greedy tokens. */
function safe(src: string): string {
  const caps: [string, number][] = [
    ["\\s", 1],
    ["\\d", MAX_LENGTH],
    [LDN, MAX_SAFE_BUILD_LENGTH],
  ];
  for (const [token, max] of caps) {
    src = src.split(`${token}*`).join(`${token}{0,${max}}`).split(`${token}+`).join(`${token}{1,${max}}`);
  }
  return src;
}

const NUMERIC = "0|[1-9]\\d*";
const NUMERIC_LOOSE = "\\d+";
const NON_NUMERIC = `\\d*[a-zA-Z-]${LDN}*`;
const MAIN_LOOSE = `(${NUMERIC_LOOSE})\\.(${NUMERIC_LOOSE})\\.(${NUMERIC_LOOSE})`;
const MAIN = `(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})`;
const PRE_ID = `(?:${NON_NUMERIC}|${NUMERIC})`;
const PRE_ID_LOOSE = `(?:${NON_NUMERIC}|${NUMERIC_LOOSE})`;
const PRE = `(?:-(${PRE_ID}(?:\\.${PRE_ID})*))`;
const PRE_LOOSE = `(?:-?(${PRE_ID_LOOSE}(?:\\.${PRE_ID_LOOSE})*))`;
const BUILD_ID = `${LDN}+`;
const BUILD = `(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))`;
const FULL_PLAIN = `v?${MAIN}${PRE}?${BUILD}?`;
const LOOSE_PLAIN = `[v=\\s]*${MAIN_LOOSE}${PRE_LOOSE}?${BUILD}?`;
const GTLT = "((?:<|>)?=?)";
const XR_ID = `${NUMERIC}|x|X|\\*`;
const XR_ID_LOOSE = `${NUMERIC_LOOSE}|x|X|\\*`;
const XR_PLAIN = `[v=\\s]*(${XR_ID})(?:\\.(${XR_ID})(?:\\.(${XR_ID})(?:${PRE})?${BUILD}?)?)?`;
const XR_PLAIN_LOOSE = `[v=\\s]*(${XR_ID_LOOSE})(?:\\.(${XR_ID_LOOSE})(?:\\.(${XR_ID_LOOSE})(?:${PRE_LOOSE})?${BUILD}?)?)?`;
const LONE_TILDE = "(?:~>?)";
const LONE_CARET = "(?:\\^)";

const re = (src: string, flags?: string): RegExp => new RegExp(safe(src), flags);

export const RE = {
  /** A whole loose version: groups major, minor, patch, prerelease, build. */
  loose: re(`^${LOOSE_PLAIN}$`),
  /** Build metadata anywhere in a range; unbounded, as node-semver strips it. */
  buildStrip: new RegExp(BUILD, "g"),
  build: re(BUILD),
  hyphenRange: re(`^\\s*(${XR_PLAIN})\\s+-\\s+(${XR_PLAIN})\\s*$`),
  hyphenRangeLoose: re(`^\\s*(${XR_PLAIN_LOOSE})\\s+-\\s+(${XR_PLAIN_LOOSE})\\s*$`),
  comparatorTrim: re(`(\\s*)${GTLT}\\s*(${LOOSE_PLAIN}|${XR_PLAIN})`, "g"),
  tildeTrim: re(`(\\s*)${LONE_TILDE}\\s+`, "g"),
  caretTrim: re(`(\\s*)${LONE_CARET}\\s+`, "g"),
  tilde: re(`^${LONE_TILDE}${XR_PLAIN}$`),
  tildeLoose: re(`^${LONE_TILDE}${XR_PLAIN_LOOSE}$`),
  caret: re(`^${LONE_CARET}${XR_PLAIN}$`),
  caretLoose: re(`^${LONE_CARET}${XR_PLAIN_LOOSE}$`),
  xRange: re(`^${GTLT}\\s*${XR_PLAIN}$`),
  xRangeLoose: re(`^${GTLT}\\s*${XR_PLAIN_LOOSE}$`),
  comparator: re(`^${GTLT}\\s*(${FULL_PLAIN})$|^$`),
  comparatorLoose: re(`^${GTLT}\\s*(${LOOSE_PLAIN})$|^$`),
  star: re("(<|>)?=?\\s*\\*"),
  gte0: re("^\\s*>=\\s*0\\.0\\.0\\s*$"),
  gte0Pre: re("^\\s*>=\\s*0\\.0\\.0-0\\s*$"),
} as const;
