import { RegistryError } from "./errors.js";
import { createHash, type Hash } from "node:crypto";

/**
 * Content digests as the OCI image spec defines them: `algorithm:encoded`.
 * Drydock stores and verifies sha256 (and accepts sha512 for verification);
 * the grammar check accepts any registered algorithm so that an unsupported
 * one is reported as UNSUPPORTED rather than DIGEST_INVALID.
 */
export type Digest = string & { readonly __digest: unique symbol };

const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const ENCODED: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export type DigestAlgorithm = "sha256" | "sha512";

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

/** Parses a digest; returns null when it is not a well-formed sha256/sha512 digest. */
export function parseDigest(value: string): ParsedDigest | null {
  if (!GRAMMAR.test(value)) return null;
  const i = value.indexOf(":");
  const algorithm = value.slice(0, i);
  const encoded = value.slice(i + 1);
  const re = ENCODED[algorithm];
  if (!re || !re.test(encoded)) return null;
  return { algorithm: algorithm as DigestAlgorithm, encoded };
}

export function isDigest(value: string): value is Digest {
  return parseDigest(value) !== null;
}

/** True when the text has the digest shape but names an algorithm we cannot verify. */
export function isUnsupportedDigest(value: string): boolean {
  if (!GRAMMAR.test(value)) return false;
  const algorithm = value.slice(0, value.indexOf(":"));
  return !(algorithm in ENCODED);
}

export function sha256(data: Buffer | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}` as Digest;
}

export function digestOf(algorithm: DigestAlgorithm, data: Buffer): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}` as Digest;
}

export function newHash(algorithm: DigestAlgorithm = "sha256"): Hash {
  return createHash(algorithm);
}

/** Throws DIGEST_INVALID unless `data` hashes to `digest` (a small blob held in memory). */
export function checkContent(digest: string, data: Buffer): void {
  const p = parseDigest(digest);
  if (!p) throw new RegistryError("DIGEST_INVALID", `invalid digest ${digest}`);
  if (newHash(p.algorithm).update(data).digest("hex") !== p.encoded)
    throw new RegistryError("DIGEST_INVALID", "content does not match digest");
}
