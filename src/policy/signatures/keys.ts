/**
 * Key material for signature verification: PEM public keys (inline or a file path), checked
 * once at start, and the raw signature check shared by cosign, Notation and DSSE.
 */
import {
  createPrivateKey,
  createPublicKey,
  verify as cryptoVerify,
  constants,
  type KeyObject,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../core/errors.js";

/** The key kinds accepted: what cosign, skopeo/podman (sigstore) and Notation sign with. */
export type KeyKind = "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ed25519" | "rsa";

export interface PublicKey {
  name: string;
  kind: KeyKind;
  key: KeyObject;
}

/** A configured value is PEM text when it holds a PEM header, else the path of a file holding PEM. */
export function readPemSource(value: string, what: string): string {
  if (value.includes("-----BEGIN ")) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (e) {
    throw new ConfigError(`${what}: cannot read ${value}: ${(e as Error).message}`);
  }
}

/** The kind of a public key, or null for one we do not verify with (DSA, X25519, other curves...). */
export function keyKind(key: KeyObject): KeyKind | null {
  switch (key.asymmetricKeyType) {
    case "ed25519":
      return "ed25519";
    case "rsa":
    case "rsa-pss":
      return "rsa";
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === "prime256v1") return "ecdsa-p256";
      if (curve === "secp384r1") return "ecdsa-p384";
      if (curve === "secp521r1") return "ecdsa-p521";
      return null;
    }
    default:
      return null;
  }
}

/** Parses one configured public key (PEM SPKI); a clear ConfigError for anything else. */
export function parsePublicKey(name: string, source: string): PublicKey {
  const what = `signatures.keys.${name}`;
  const pem = readPemSource(source, what);
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem))
    throw new ConfigError(`${what}: expected a PEM "PUBLIC KEY" (SPKI), e.g. cosign.pub`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (e) {
    throw new ConfigError(`${what}: not a valid public key: ${(e as Error).message}`);
  }
  const kind = keyKind(key);
  if (!kind)
    throw new ConfigError(
      `${what}: unsupported key type ${key.asymmetricKeyType ?? "?"} (use ECDSA P-256, Ed25519 or RSA)`,
    );
  if (kind === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new ConfigError(`${what}: RSA keys shorter than 2048 bits are not accepted`);
  return { name, kind, key };
}

/** All configured keys by name. */
export function parsePublicKeys(keys: Record<string, { publicKey: string }>): Map<string, PublicKey> {
  const out = new Map<string, PublicKey>();
  for (const [name, k] of Object.entries(keys)) out.set(name, parsePublicKey(name, k.publicKey));
  return out;
}

/** A private signing key (unencrypted PKCS#8 / SEC1 / PKCS#1 PEM), for Drydock's own attestations. */
export function parsePrivateKey(source: string, what: string): { key: KeyObject; kind: KeyKind } {
  const pem = readPemSource(source, what);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (e) {
    throw new ConfigError(`${what}: not a valid unencrypted PEM private key: ${(e as Error).message}`);
  }
  const kind = keyKind(key);
  if (!kind) throw new ConfigError(`${what}: unsupported key type ${key.asymmetricKeyType ?? "?"}`);
  return { key, kind };
}

function ecHash(kind: KeyKind): string {
  return kind === "ecdsa-p384" ? "sha384" : kind === "ecdsa-p521" ? "sha512" : "sha256";
}

/**
 * Whether `sig` is a signature of `data` by `key`, as cosign and sigstore signers make them:
 * ECDSA over SHA-256 (P-256; P-384/P-521 with their own hash) in ASN.1 DER, Ed25519 over the
 * data itself, RSA PKCS#1 v1.5 or PSS with SHA-256. Never throws (a malformed signature is false).
 */
export function verifyBlobSignature(key: PublicKey, data: Uint8Array, sig: Uint8Array): boolean {
  try {
    switch (key.kind) {
      case "ed25519":
        return cryptoVerify(null, data, key.key, sig);
      case "rsa":
        return (
          (key.key.asymmetricKeyType === "rsa" && cryptoVerify("sha256", data, key.key, sig)) ||
          cryptoVerify(
            "sha256",
            data,
            {
              key: key.key,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_AUTO,
            },
            sig,
          )
        );
      default:
        return cryptoVerify(ecHash(key.kind), data, { key: key.key, dsaEncoding: "der" }, sig);
    }
  } catch {
    return false;
  }
}
