/**
 * Writes a private key in the format skopeo and podman read for `--sign-by-sigstore-private-key`
 * (cosign's "ENCRYPTED SIGSTORE PRIVATE KEY": a PEM whose body is JSON with the scrypt
 * parameters and a NaCl secretbox of the PKCS#8 DER key; the envelope of go-securesystemslib's
 * `encrypted` package). skopeo 1.9 cannot generate such a key and cosign is not installable
 * here, so the test makes one. NaCl's secretbox (XSalsa20-Poly1305) is not in node:crypto: it
 * is written out below from its specification (Bernstein, "Extending the Salsa20 nonce" and
 * "The Poly1305-AES message-authentication code"); skopeo decrypting the key is its test.
 */
import { randomBytes, scryptSync, type KeyObject } from "node:crypto";

const rotl = (v: number, c: number) => ((v << c) | (v >>> (32 - c))) >>> 0;

/** The 20-round Salsa20 double-round loop over a 16-word state (no feed-forward). */
function rounds(x: Uint32Array): void {
  const qr = (a: number, b: number, c: number, d: number) => {
    x[b] = (x[b]! ^ rotl((x[a]! + x[d]!) >>> 0, 7)) >>> 0;
    x[c] = (x[c]! ^ rotl((x[b]! + x[a]!) >>> 0, 9)) >>> 0;
    x[d] = (x[d]! ^ rotl((x[c]! + x[b]!) >>> 0, 13)) >>> 0;
    x[a] = (x[a]! ^ rotl((x[d]! + x[c]!) >>> 0, 18)) >>> 0;
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12);
    qr(5, 9, 13, 1);
    qr(10, 14, 2, 6);
    qr(15, 3, 7, 11);
    qr(0, 1, 2, 3);
    qr(5, 6, 7, 4);
    qr(10, 11, 8, 9);
    qr(15, 12, 13, 14);
  }
}

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

function state(key: Buffer, n16: Buffer): Uint32Array {
  const s = new Uint32Array(16);
  s[0] = SIGMA[0]!;
  s[5] = SIGMA[1]!;
  s[10] = SIGMA[2]!;
  s[15] = SIGMA[3]!;
  for (let i = 0; i < 4; i++) {
    s[1 + i] = key.readUInt32LE(4 * i);
    s[11 + i] = key.readUInt32LE(16 + 4 * i);
    s[6 + i] = n16.readUInt32LE(4 * i);
  }
  return s;
}

function hsalsa20(key: Buffer, nonce16: Buffer): Buffer {
  const x = state(key, nonce16);
  rounds(x);
  const out = Buffer.alloc(32);
  [0, 5, 10, 15, 6, 7, 8, 9].forEach((w, i) => out.writeUInt32LE(x[w]!, 4 * i));
  return out;
}

function xsalsa20Stream(key: Buffer, nonce: Buffer, length: number): Buffer {
  const sub = hsalsa20(key, nonce.subarray(0, 16));
  const out = Buffer.alloc(length);
  for (let block = 0; block * 64 < length; block++) {
    const n16 = Buffer.alloc(16);
    nonce.copy(n16, 0, 16, 24);
    n16.writeBigUInt64LE(BigInt(block), 8);
    const input = state(sub, n16);
    const x = input.slice();
    rounds(x);
    const ks = Buffer.alloc(64);
    for (let i = 0; i < 16; i++) ks.writeUInt32LE((x[i]! + input[i]!) >>> 0, 4 * i);
    ks.copy(out, block * 64, 0, Math.min(64, length - block * 64));
  }
  return out;
}

const le = (b: Buffer): bigint => {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
};

function poly1305(key: Buffer, msg: Buffer): Buffer {
  const p = (1n << 130n) - 5n;
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = le(key.subarray(16, 32));
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const chunk = msg.subarray(i, i + 16);
    acc = ((acc + le(chunk) + (1n << BigInt(8 * chunk.length))) * r) % p;
  }
  let tag = (acc + s) & ((1n << 128n) - 1n);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++, tag >>= 8n) out[i] = Number(tag & 0xffn);
  return out;
}

/** NaCl `crypto_secretbox` (Go's secretbox.Seal): the 16-byte tag, then the ciphertext. */
export function secretboxSeal(message: Buffer, nonce: Buffer, key: Buffer): Buffer {
  const stream = xsalsa20Stream(key, nonce, 32 + message.length);
  const c = Buffer.alloc(message.length);
  for (let i = 0; i < message.length; i++) c[i] = message[i]! ^ stream[32 + i]!;
  return Buffer.concat([poly1305(stream.subarray(0, 32), c), c]);
}

/** The PEM skopeo/podman read, protecting `privateKey` with `passphrase`. */
export function encryptedSigstoreKey(privateKey: KeyObject, passphrase: string): string {
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const params = { N: 32768, r: 8, p: 1 };
  const key = scryptSync(passphrase, salt, 32, { ...params, maxmem: 64 * 1024 * 1024 });
  const body = JSON.stringify({
    kdf: { name: "scrypt", params, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: secretboxSeal(der, nonce, key).toString("base64"),
  });
  const b64 = Buffer.from(body).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
}
