/**
 * Notation (Notary Project) signatures: referrers with artifactType
 * `application/vnd.cncf.notary.signature` whose one blob is a signature envelope, JWS
 * (`application/jose+json`, JSON serialization) or COSE_Sign1 (`application/cose`), signed by
 * the leaf of an X.509 chain carried in the envelope. Verified as `notation verify` does, with
 * a trust policy per repository pattern: the chain must end at a certificate of the policy's
 * trust stores, the leaf's subject must be a trusted identity, the payload's targetArtifact
 * must be the image. Revocation (OCSP/CRL) and timestamping are not checked.
 */
import { X509Certificate, createHash, verify as cryptoVerify, constants, type KeyObject } from "node:crypto";
import type { Config } from "../../config/schema.js";
import { ConfigError } from "../../core/errors.js";
import { compileRepositoryPatterns } from "../patterns.js";
import { CborError, CborTag, decodeCbor, encodeCbor, type CborValue } from "./cbor.js";
import { readPemSource } from "./keys.js";
import { manifestLayers, parseJsonObject, type ArtifactReader } from "./reader.js";
import type { SignatureProof } from "./index.js";

export const NOTATION_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature";
export const NOTATION_PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json";
export const JWS_MEDIA_TYPE = "application/jose+json";
export const COSE_MEDIA_TYPE = "application/cose";
const SIGNING_SCHEME = "io.cncf.notary.signingScheme";
const EXPIRY = "io.cncf.notary.expiry";

export type NotationLevel = "strict" | "permissive" | "audit" | "skip";

export interface NotationPolicy {
  name: string;
  level: NotationLevel;
  matches: (repository: string) => boolean;
  /** The trusted roots (and any certificate of the stores), all stores of the policy together. */
  trusted: X509Certificate[];
  /** `*`, or lists of required subject attributes. */
  identities: "*" | Record<string, string>[];
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/** The certificates of one PEM text (a file may hold several). */
function pemCertificates(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new ConfigError(`${what}: no PEM CERTIFICATE found`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new ConfigError(`${what}: not a valid certificate: ${(e as Error).message}`);
    }
  });
}

/** `x509.subject: C=US, O=Acme, CN=signer` → {C: "US", O: "Acme", CN: "signer"}. */
export function parseTrustedIdentity(s: string): "*" | Record<string, string> {
  if (s.trim() === "*") return "*";
  const m = /^x509\.subject:\s*(.+)$/.exec(s.trim());
  if (!m)
    throw new ConfigError(`trustedIdentities: ${JSON.stringify(s)} is neither "*" nor "x509.subject: ..."`);
  const attrs: Record<string, string> = {};
  for (const part of m[1]!.split(/\s*,\s*/)) {
    const eq = part.indexOf("=");
    if (eq <= 0)
      throw new ConfigError(
        `trustedIdentities: bad attribute ${JSON.stringify(part)} in ${JSON.stringify(s)}`,
      );
    attrs[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return attrs;
}

/** node prints a subject as `C=US\nO=Acme\nCN=signer`. */
function subjectAttributes(subject: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of subject.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

export function compileNotationPolicies(c: Config["signatures"]["notation"]): NotationPolicy[] {
  const stores = new Map<string, X509Certificate[]>();
  for (const [name, sources] of Object.entries(c.trustStores))
    stores.set(
      name,
      sources.flatMap((src, i) => {
        const what = `signatures.notation.trustStores.${name}[${i}]`;
        return pemCertificates(readPemSource(src, what), what);
      }),
    );
  const names = new Set<string>();
  return c.trustPolicies.map((p) => {
    if (names.has(p.name))
      throw new ConfigError(`signatures.notation.trustPolicies: duplicate name ${p.name}`);
    names.add(p.name);
    const level = p.signatureVerification.level;
    const trusted = p.trustStores.flatMap((ref) => {
      const certs = stores.get(ref.slice(3));
      if (!certs)
        throw new ConfigError(
          `signatures.notation.trustPolicies.${p.name}: trust store ${ref} is not configured`,
        );
      return certs;
    });
    if (level !== "skip" && (trusted.length === 0 || p.trustedIdentities.length === 0))
      throw new ConfigError(
        `signatures.notation.trustPolicies.${p.name}: trustStores and trustedIdentities are required unless the level is skip`,
      );
    const ids = p.trustedIdentities.map(parseTrustedIdentity);
    return {
      name: p.name,
      level,
      matches: p.registryScopes.includes("*") ? () => true : compileRepositoryPatterns(p.registryScopes),
      trusted,
      identities: ids.includes("*") ? "*" : (ids as Record<string, string>[]),
    };
  });
}

// --- envelopes ------------------------------------------------------------------------------

/** What both envelope formats come down to. */
export interface NotationEnvelope {
  /** The exact bytes the signature is over. */
  signingInput: Buffer;
  signature: Buffer;
  /** The signature algorithm: RSASSA-PSS or ECDSA with SHA-256/384/512. */
  alg: "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512";
  /** DER certificates, leaf first. */
  chain: Buffer[];
  payload: Buffer;
  contentType: string;
  signingScheme: string;
  /** `io.cncf.notary.expiry`, epoch milliseconds, if present. */
  expiry?: number;
}

const b64url = (s: unknown, what: string): Buffer => {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s))
    throw new EnvelopeError(`JWS ${what} is not base64url`);
  return Buffer.from(s, "base64url");
};

const JWS_ALGS = new Set(["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]);

/** A JWS JSON serialization envelope (Notary Project signature specification, JWS section). */
export function parseJwsEnvelope(bytes: Uint8Array): NotationEnvelope {
  const env = parseJsonObject(bytes);
  if (!env) throw new EnvelopeError("JWS envelope is not a JSON object");
  if (typeof env.protected !== "string" || typeof env.payload !== "string")
    throw new EnvelopeError("JWS envelope lacks protected or payload");
  const protectedHeader = parseJsonObject(b64url(env.protected, "protected header"));
  if (!protectedHeader) throw new EnvelopeError("JWS protected header is not a JSON object");
  const alg = protectedHeader.alg;
  if (typeof alg !== "string" || !JWS_ALGS.has(alg))
    throw new EnvelopeError(`JWS alg ${String(alg)} is not supported`);
  const crit = protectedHeader.crit;
  if (!Array.isArray(crit) || !crit.includes(SIGNING_SCHEME))
    throw new EnvelopeError(`JWS crit must list ${SIGNING_SCHEME}`);
  for (const c of crit)
    if (typeof c !== "string" || !(c in protectedHeader))
      throw new EnvelopeError(`JWS crit names an absent header ${String(c)}`);
  const header = env.header;
  if (header === null || typeof header !== "object" || Array.isArray(header))
    throw new EnvelopeError("JWS unprotected header is missing");
  const x5c = (header as Record<string, unknown>).x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 10 || !x5c.every((c) => typeof c === "string"))
    throw new EnvelopeError("JWS x5c must list the certificate chain");
  let expiry: number | undefined;
  if (protectedHeader[EXPIRY] !== undefined) {
    expiry = Date.parse(String(protectedHeader[EXPIRY]));
    if (Number.isNaN(expiry)) throw new EnvelopeError(`JWS ${EXPIRY} is not a date`);
  }
  return {
    signingInput: Buffer.from(`${env.protected}.${env.payload}`, "ascii"),
    signature: b64url(env.signature, "signature"),
    alg: alg as NotationEnvelope["alg"],
    chain: (x5c as string[]).map((c) => Buffer.from(c, "base64")),
    payload: b64url(env.payload, "payload"),
    contentType: String(protectedHeader.cty ?? ""),
    signingScheme: String(protectedHeader[SIGNING_SCHEME] ?? ""),
    ...(expiry !== undefined ? { expiry } : {}),
  };
}

const COSE_ALGS = new Map<number, NotationEnvelope["alg"]>([
  [-7, "ES256"],
  [-35, "ES384"],
  [-36, "ES512"],
  [-37, "PS256"],
  [-38, "PS384"],
  [-39, "PS512"],
]);

/** A COSE_Sign1 envelope (RFC 9052; Notary Project signature specification, COSE section). */
export function parseCoseEnvelope(bytes: Uint8Array): NotationEnvelope {
  let v: CborValue;
  try {
    v = decodeCbor(bytes);
  } catch (e) {
    if (e instanceof CborError) throw new EnvelopeError(`COSE envelope: ${e.message}`);
    throw e;
  }
  if (v instanceof CborTag) {
    if (v.tag !== 18) throw new EnvelopeError(`COSE envelope has tag ${v.tag}, not 18 (COSE_Sign1)`);
    v = v.value;
  }
  if (!Array.isArray(v) || v.length !== 4) throw new EnvelopeError("COSE_Sign1 is not an array of 4");
  const [prot, unprot, payload, signature] = v;
  if (!(prot instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array))
    throw new EnvelopeError("COSE_Sign1 protected header, payload and signature must be byte strings");
  if (!(unprot instanceof Map)) throw new EnvelopeError("COSE_Sign1 unprotected header is not a map");
  let ph: CborValue;
  try {
    ph = decodeCbor(prot);
  } catch (e) {
    if (e instanceof CborError) throw new EnvelopeError(`COSE protected header: ${e.message}`);
    throw e;
  }
  if (!(ph instanceof Map)) throw new EnvelopeError("COSE protected header is not a map");
  const alg = COSE_ALGS.get(ph.get(1) as number);
  if (!alg) throw new EnvelopeError(`COSE alg ${String(ph.get(1))} is not supported`);
  const crit = ph.get(2);
  if (!Array.isArray(crit) || !crit.includes(SIGNING_SCHEME))
    throw new EnvelopeError(`COSE crit must list ${SIGNING_SCHEME}`);
  for (const c of crit)
    if (!ph.has(c)) throw new EnvelopeError(`COSE crit names an absent header ${String(c)}`);
  const x5 = unprot.get(33);
  const chain = x5 instanceof Uint8Array ? [x5] : x5;
  if (
    !Array.isArray(chain) ||
    chain.length === 0 ||
    chain.length > 10 ||
    !chain.every((c) => c instanceof Uint8Array)
  )
    throw new EnvelopeError("COSE x5chain (33) must hold the certificate chain");
  const exp = ph.get(EXPIRY);
  const expiry =
    exp instanceof CborTag && exp.tag === 1 && typeof exp.value === "number" ? exp.value * 1000 : undefined;
  return {
    // Sig_structure: ["Signature1", protected, external_aad (empty), payload].
    signingInput: encodeCbor(["Signature1", prot, new Uint8Array(0), payload]),
    signature: Buffer.from(signature),
    alg,
    chain: (chain as Uint8Array[]).map((c) => Buffer.from(c)),
    payload: Buffer.from(payload),
    contentType: String(ph.get(3) ?? ""),
    signingScheme: String(ph.get(SIGNING_SCHEME) ?? ""),
    ...(expiry !== undefined ? { expiry } : {}),
  };
}

function verifyEnvelopeSignature(env: NotationEnvelope, key: KeyObject): boolean {
  const hash = `sha${env.alg.slice(2)}`;
  try {
    if (env.alg.startsWith("PS")) {
      if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "rsa-pss") return false;
      return cryptoVerify(
        hash,
        env.signingInput,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        env.signature,
      );
    }
    if (key.asymmetricKeyType !== "ec") return false;
    // JWS and COSE both carry ECDSA signatures as r||s, not DER.
    return cryptoVerify(hash, env.signingInput, { key, dsaEncoding: "ieee-p1363" }, env.signature);
  } catch {
    return false;
  }
}

/** The digest the payload's targetArtifact names. */
function targetDigest(payload: Buffer): string {
  const p = parseJsonObject(payload);
  const t = p?.targetArtifact;
  if (t === null || typeof t !== "object" || Array.isArray(t))
    throw new EnvelopeError("payload lacks targetArtifact");
  const d = (t as Record<string, unknown>).digest;
  if (typeof d !== "string") throw new EnvelopeError("targetArtifact has no digest");
  return d;
}

/**
 * The chain from the leaf to a trusted certificate: each certificate issued and signed by the
 * next, issuers marked as CAs, and the last one either trusted itself or issued by a trusted
 * certificate. Returns the problems (empty when it is trusted); `expired` collects validity problems.
 */
function chainProblems(
  chain: X509Certificate[],
  trusted: X509Certificate[],
  now: number,
  expired: string[],
): string[] {
  const valid = (c: X509Certificate) => {
    if (Date.parse(c.validFrom) > now || Date.parse(c.validTo) < now)
      expired.push(
        `certificate ${c.subject.replace(/\n/g, ", ")} is not valid now (${c.validFrom} to ${c.validTo})`,
      );
  };
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!;
    valid(c);
    const issuer = chain[i + 1];
    if (issuer) {
      if (!issuer.ca) return [`certificate ${issuer.subject.replace(/\n/g, ", ")} in the chain is not a CA`];
      if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) return ["the certificate chain is broken"];
    }
  }
  const last = chain[chain.length - 1]!;
  if (trusted.some((t) => t.fingerprint256 === last.fingerprint256)) return [];
  const root = trusted.find((t) => t.ca && last.checkIssued(t) && last.verify(t.publicKey));
  if (root) {
    valid(root);
    return [];
  }
  return ["signature by a certificate not issued by a trusted root"];
}

function identityTrusted(leaf: X509Certificate, ids: NotationPolicy["identities"]): boolean {
  if (ids === "*") return true;
  const have = subjectAttributes(leaf.subject);
  return ids.some((want) => Object.entries(want).every(([k, v]) => have.get(k) === v));
}

/**
 * One envelope under one policy: null when it verifies, else why not. The levels as in
 * Notation: strict enforces everything; permissive lets expiry pass; audit enforces only
 * integrity (the envelope is signed by its own leaf and names the image).
 */
export function checkEnvelope(
  env: NotationEnvelope,
  digest: string,
  policy: NotationPolicy,
  now: number,
): string | null {
  if (env.contentType !== NOTATION_PAYLOAD_TYPE)
    return `notation envelope content type ${env.contentType} is not ${NOTATION_PAYLOAD_TYPE}`;
  if (env.signingScheme !== "notary.x509")
    return `notation signing scheme ${env.signingScheme} is not supported`;
  let chain: X509Certificate[];
  let leafKey: KeyObject;
  try {
    chain = env.chain.map((der) => new X509Certificate(der));
    // node parses a certificate's key lazily: a damaged key only fails here.
    leafKey = chain[0]!.publicKey;
  } catch {
    return "notation envelope holds an invalid certificate";
  }
  if (!verifyEnvelopeSignature(env, leafKey))
    return "notation signature does not verify with its certificate";
  let target: string;
  try {
    target = targetDigest(env.payload);
  } catch (e) {
    return (e as Error).message;
  }
  if (target !== digest) return `notation signature is for another digest ${target}`;
  if (policy.level === "audit") return null;
  const expired: string[] = [];
  let problems: string[];
  try {
    problems = chainProblems(chain, policy.trusted, now, expired);
  } catch {
    // An issuer whose key does not parse (checkIssued/verify throw): not a chain to trust.
    return "notation envelope holds an invalid certificate";
  }
  if (problems.length) return `notation ${problems[0]!}`;
  if (!identityTrusted(chain[0]!, policy.identities))
    return `notation signature by an untrusted identity ${chain[0]!.subject.replace(/\n/g, ", ")}`;
  if (env.expiry !== undefined && env.expiry < now) expired.push("the notation signature has expired");
  if (policy.level === "strict" && expired.length) return `notation ${expired[0]!}`;
  return null;
}

export function parseEnvelope(mediaType: string, bytes: Uint8Array): NotationEnvelope {
  if (mediaType === JWS_MEDIA_TYPE) return parseJwsEnvelope(bytes);
  if (mediaType === COSE_MEDIA_TYPE) return parseCoseEnvelope(bytes);
  throw new EnvelopeError(`notation envelope media type ${mediaType} is not supported`);
}

/** The Notation signatures of an image under the policies that apply; any policy accepting one verifies. */
export async function verifyNotation(
  reader: ArtifactReader,
  repositoryId: number,
  digest: string,
  policies: NotationPolicy[],
  now: number,
): Promise<{ found: number; by: SignatureProof[]; reasons: string[] }> {
  const by: SignatureProof[] = [];
  const reasons: string[] = [];
  let found = 0;
  for (const r of await reader.referrers(repositoryId, digest, NOTATION_ARTIFACT_TYPE)) {
    const manifest = await reader.manifest(repositoryId, r.digest);
    const m = manifest && parseJsonObject(manifest);
    if (!m) continue;
    for (const layer of manifestLayers(m)) {
      if (layer.mediaType !== JWS_MEDIA_TYPE && layer.mediaType !== COSE_MEDIA_TYPE) continue;
      const bytes = await reader.blob(layer.digest);
      if (!bytes) continue;
      found++;
      let env: NotationEnvelope;
      try {
        env = parseEnvelope(layer.mediaType, bytes);
      } catch (e) {
        if (!(e instanceof EnvelopeError)) throw e;
        reasons.push(`notation: ${e.message}`);
        continue;
      }
      for (const p of policies) {
        const problem = checkEnvelope(env, digest, p, now);
        if (problem === null) {
          if (!by.some((b) => b.key === p.name)) by.push({ kind: "notation", key: p.name, form: "referrer" });
        } else reasons.push(problem);
      }
    }
  }
  return { found, by, reasons };
}

/** sha256 thumbprints of a chain, as notation's `io.cncf.notary.x509chain.thumbprint#S256` annotation lists them. */
export function chainThumbprints(chain: Buffer[]): string[] {
  return chain.map((c) => createHash("sha256").update(c).digest("hex"));
}
