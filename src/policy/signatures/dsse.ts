/**
 * DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1): the envelope in-toto
 * attestations travel in. The signature is over PAE(payloadType, payload), never over the
 * JSON, so the envelope's encoding cannot be played with. Parsed from untrusted bytes: a
 * typed result or a DsseError.
 */
import type { KeyObject } from "node:crypto";
import { verifyBlobSignature, type PublicKey } from "./keys.js";
import { signBlob } from "./sign.js";

export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

export class DsseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DsseError";
  }
}

export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid: string; sig: Buffer }[];
}

/** Pre-Authentication Encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in bytes. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

export function signDsse(payloadType: string, payload: Buffer, key: KeyObject, keyid = ""): Buffer {
  return Buffer.from(
    JSON.stringify({
      payloadType,
      payload: payload.toString("base64"),
      signatures: [{ keyid, sig: signBlob(key, pae(payloadType, payload)).toString("base64") }],
    }),
  );
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$|^[A-Za-z0-9_-]*$/;
const b64 = (s: unknown, what: string): Buffer => {
  if (typeof s !== "string" || !BASE64.test(s)) throw new DsseError(`DSSE ${what} is not base64`);
  return Buffer.from(s, /[-_]/.test(s) ? "base64url" : "base64");
};

export function parseDsse(bytes: Uint8Array): DsseEnvelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new DsseError("DSSE envelope too large");
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new DsseError("DSSE envelope is not UTF-8 JSON");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new DsseError("DSSE envelope is not an object");
  const o = v as Record<string, unknown>;
  if (typeof o.payloadType !== "string") throw new DsseError("DSSE payloadType is missing");
  if (!Array.isArray(o.signatures) || o.signatures.length === 0 || o.signatures.length > 16)
    throw new DsseError("DSSE signatures must be a non-empty list");
  return {
    payloadType: o.payloadType,
    payload: b64(o.payload, "payload"),
    signatures: o.signatures.map((s: unknown) => {
      if (s === null || typeof s !== "object" || Array.isArray(s))
        throw new DsseError("DSSE signature is not an object");
      const r = s as Record<string, unknown>;
      return { keyid: typeof r.keyid === "string" ? r.keyid : "", sig: b64(r.sig, "sig") };
    }),
  };
}

/** The name of the first key that signed the envelope, or null. */
export function verifyDsse(env: DsseEnvelope, keys: PublicKey[]): string | null {
  const message = pae(env.payloadType, env.payload);
  for (const s of env.signatures) {
    const k = keys.find((key) => verifyBlobSignature(key, message, s.sig));
    if (k) return k.name;
  }
  return null;
}
