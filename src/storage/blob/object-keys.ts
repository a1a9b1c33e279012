/**
 * The keys of named objects (BlobStore.putObject & co.): S3-style keys, restricted so that the
 * same key is a safe relative path on the filesystem store. Keys come from requests (a report's
 * `s3Destination.keyPrefix`), so every store checks them before touching storage.
 *
 * A key is 1 to MAX_OBJECT_KEY_BYTES bytes of UTF-8, `/`-separated segments, each non-empty, at
 * most MAX_SEGMENT_BYTES bytes (a file name's limit), neither `.` nor `..`, without control
 * characters or `\` (a separator on other systems). No leading or trailing `/`. A listing prefix
 * is either empty or such a key followed by `/` (a "folder").
 */

export const MAX_OBJECT_KEY_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;

/** A key or prefix the stores refuse. */
export class InvalidObjectKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = "InvalidObjectKeyError";
  }
}

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `key` is not a valid object key, or null when it is. */
export function objectKeyProblem(key: string): string | null {
  if (key === "") return "it is empty";
  if (Buffer.byteLength(key, "utf8") > MAX_OBJECT_KEY_BYTES)
    return `it is longer than ${MAX_OBJECT_KEY_BYTES} bytes`;
  if (FORBIDDEN.test(key)) return "it contains a control character or a backslash";
  if (key.startsWith("/")) return "it starts with /";
  if (key.endsWith("/")) return "it ends with /";
  for (const s of key.split("/")) {
    if (s === "") return "it has an empty segment (//)";
    if (s === "." || s === "..") return `it has a ${s} segment`;
    if (Buffer.byteLength(s, "utf8") > MAX_SEGMENT_BYTES)
      return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  // Lone surrogates cannot be written as UTF-8: the key would not round-trip.
  if (LONE_SURROGATE.test(key)) return "it is not valid Unicode";
  return null;
}

/** Throws InvalidObjectKeyError unless `key` is a valid object key. */
export function checkObjectKey(key: string): void {
  const p = objectKeyProblem(key);
  if (p !== null) throw new InvalidObjectKeyError(key, p);
}

/** Throws InvalidObjectKeyError unless `prefix` is "" or a valid key followed by `/`. */
export function checkObjectPrefix(prefix: string): void {
  if (prefix === "") return;
  if (!prefix.endsWith("/")) throw new InvalidObjectKeyError(prefix, "a listing prefix must end with /");
  checkObjectKey(prefix.slice(0, -1));
}
