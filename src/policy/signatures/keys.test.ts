import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../core/errors.js";
import { parsePrivateKey, parsePublicKey, verifyBlobSignature } from "./keys.js";
import { signBlob } from "./testing.js";

const spki = (k: import("node:crypto").KeyObject) => k.export({ format: "pem", type: "spki" }).toString();

describe("signature keys", () => {
  it("reads ECDSA P-256, Ed25519 and RSA public keys inline or from a file", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(parsePublicKey("a", spki(ec.publicKey)).kind).toBe("ecdsa-p256");
    expect(parsePublicKey("b", spki(generateKeyPairSync("ed25519").publicKey)).kind).toBe("ed25519");
    const dir = mkdtempSync(join(tmpdir(), "drydock-keys-"));
    writeFileSync(join(dir, "rsa.pub"), spki(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey));
    expect(parsePublicKey("c", join(dir, "rsa.pub")).kind).toBe("rsa");
  });

  it("refuses bad keys with a clear configuration error naming the key", () => {
    const bad: [string, RegExp][] = [
      [
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        /signatures\.keys\.k: not a valid public key/,
      ],
      ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", /expected a PEM "PUBLIC KEY"/],
      ["/nonexistent/cosign.pub", /signatures\.keys\.k: cannot read \/nonexistent\/cosign\.pub/],
      [spki(generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey), /unsupported key type ec/],
      [spki(generateKeyPairSync("x25519").publicKey), /unsupported key type x25519/],
      [spki(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey), /shorter than 2048 bits/],
    ];
    for (const [source, msg] of bad) {
      expect(() => parsePublicKey("k", source)).toThrow(ConfigError);
      expect(() => parsePublicKey("k", source)).toThrow(msg);
    }
    expect(() =>
      parsePrivateKey("-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----", "attest"),
    ).toThrow(/attest: not a valid unencrypted PEM private key/);
  });

  it("arbitrary PEM-looking text gives a key or a ConfigError, nothing else", () => {
    const check = (text: string) => {
      try {
        parsePublicKey("k", text);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    };
    const body = fc.base64String({ maxLength: 400 });
    fc.assert(
      fc.property(body, fc.constantFrom("PUBLIC KEY", "CERTIFICATE", "EC PRIVATE KEY"), (b, label) =>
        check(`-----BEGIN ${label}-----\n${b}\n-----END ${label}-----\n`),
      ),
      { numRuns: 300 },
    );
    // A real key's DER with bytes changed.
    const der = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
      format: "der",
      type: "spki",
    });
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const b = Buffer.from(der);
        b[i] = v;
        check(`-----BEGIN PUBLIC KEY-----\n${b.toString("base64")}\n-----END PUBLIC KEY-----\n`);
      }),
      { numRuns: 300 },
    );
  });

  it("verifyBlobSignature is false, never an exception, for arbitrary signature bytes", () => {
    const keys = [
      parsePublicKey("ec", spki(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey)),
      parsePublicKey("ed", spki(generateKeyPairSync("ed25519").publicKey)),
      parsePublicKey("rsa", spki(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey)),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 600 }), (data, sig) =>
        keys.every((k) => verifyBlobSignature(k, data, sig) === false),
      ),
      { numRuns: 200 },
    );
  });

  it("a signature verifies only over the bytes signed", () => {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const k = parsePublicKey("ec", spki(pair.publicKey));
    const sig = signBlob(pair.privateKey, Buffer.from("payload"));
    expect(verifyBlobSignature(k, Buffer.from("payload"), sig)).toBe(true);
    expect(verifyBlobSignature(k, Buffer.from("payloae"), sig)).toBe(false);
  });
});
