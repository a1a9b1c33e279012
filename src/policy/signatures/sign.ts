import { sign as cryptoSign, type KeyObject } from "node:crypto";

/**
 * A signature as cosign and sigstore signers make one, and as verifyBlobSignature checks it:
 * ECDSA in ASN.1 DER over SHA-256 (SHA-384/512 for P-384/P-521), Ed25519 over the data,
 * RSA PKCS#1 v1.5 with SHA-256 (or PSS when asked).
 */
export function signBlob(key: KeyObject, data: Uint8Array, o: { pss?: boolean } = {}): Buffer {
  if (key.asymmetricKeyType === "ed25519") return cryptoSign(null, data, key);
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const hash = curve === "secp384r1" ? "sha384" : curve === "secp521r1" ? "sha512" : "sha256";
    return cryptoSign(hash, data, { key, dsaEncoding: "der" });
  }
  return o.pss
    ? cryptoSign("sha256", data, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 })
    : cryptoSign("sha256", data, key);
}
