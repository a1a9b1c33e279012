import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { configSchema } from "../../config/schema.js";
import { ConfigError } from "../../core/errors.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import { createSignatureVerifier } from "./index.js";

describe("signatures configuration", () => {
  it("defaults to no keys, repository identity, a 10 s cache and no attestation", () => {
    expect(configSchema.parse({}).signatures).toEqual({
      keys: {},
      trust: [],
      identity: "repository",
      notation: { trustStores: {}, trustPolicies: [] },
      cacheSeconds: 10,
      attest: { enabled: false },
    });
  });

  it("refuses an enabled attestation without a key, and bad names", () => {
    expect(configSchema.safeParse({ signatures: { attest: { enabled: true } } }).error?.message).toMatch(
      /signatures\.attest\.privateKey is required/,
    );
    expect(configSchema.safeParse({ signatures: { keys: { "a b": { publicKey: "x" } } } }).success).toBe(
      false,
    );
    expect(
      configSchema.safeParse({
        signatures: {
          notation: {
            trustPolicies: [
              {
                name: "p",
                registryScopes: ["*"],
                signatureVerification: { level: "strict" },
                trustStores: ["acme"],
              },
            ],
          },
        },
      }).success,
    ).toBe(false);
  });

  it("stops the verifier's construction on a trust entry naming an unknown key", async () => {
    const meta = await openSqliteMetaStore(":memory:");
    try {
      const c = configSchema.parse({
        signatures: {
          keys: {
            a: {
              publicKey: generateKeyPairSync("ed25519")
                .publicKey.export({ format: "pem", type: "spki" })
                .toString(),
            },
          },
          trust: [{ repositories: ["**"], keys: ["a", "b"] }],
        },
      }).signatures;
      expect(() => createSignatureVerifier({ meta, blobs: undefined as never, config: c })).toThrow(
        ConfigError,
      );
      expect(() => createSignatureVerifier({ meta, blobs: undefined as never, config: c })).toThrow(
        /key "b" is not in signatures.keys/,
      );
    } finally {
      await meta.close();
    }
  });
});
