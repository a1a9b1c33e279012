import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  newSigningSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
} from "./webhook-signature.js";

// The Standard Webhooks reference libraries' published test vector (libraries/javascript
// webhook.test.ts "sign function works"): this secret, id, timestamp and body give this signature.
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestampSeconds: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

describe("signWebhook", () => {
  it("gives the Standard Webhooks test vector's signature", () => {
    const headers = signWebhook({ ...VECTOR, secrets: [VECTOR.secret] });
    expect(headers).toEqual({
      "webhook-id": VECTOR.id,
      "webhook-timestamp": "1614265330",
      "webhook-signature": VECTOR.signature,
    });
  });

  it("is HMAC-SHA256 over id.timestamp.body keyed by the decoded secret (hand computation)", () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const key = Buffer.from(secret.slice(6), "base64");
    expect(key).toHaveLength(32);
    const body = '{"détail":"ü"}';
    const mac = createHmac("sha256", key).update(`d-1.1700000000.${body}`, "utf8").digest("base64");
    expect(
      signWebhook({ secrets: [secret], id: "d-1", timestampSeconds: 1700000000, body })["webhook-signature"],
    ).toBe(`v1,${mac}`);
  });

  it("signs with both secrets during a rotation, and either verifies", () => {
    const [current, previous] = [newSigningSecret(), newSigningSecret()];
    const body = "{}";
    const now = 1_700_000_000_000;
    const headers = signWebhook({
      secrets: [current, previous],
      id: "x",
      timestampSeconds: now / 1000,
      body,
    });
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    verifyWebhook(current, headers, body, { now });
    verifyWebhook(previous, headers, body, { now });
    expect(() => verifyWebhook(newSigningSecret(), headers, body, { now })).toThrow(WebhookVerificationError);
  });
});

describe("verifyWebhook", () => {
  const now = VECTOR.timestampSeconds * 1000;
  const good = {
    "webhook-id": VECTOR.id,
    "webhook-timestamp": "1614265330",
    "webhook-signature": VECTOR.signature,
  };

  it("accepts the vector, with or without the prefix, header names in any case", () => {
    verifyWebhook(VECTOR.secret, good, VECTOR.body, { now });
    verifyWebhook(VECTOR.secret.slice(6), good, VECTOR.body, { now });
    verifyWebhook(
      VECTOR.secret,
      { "Webhook-Id": VECTOR.id, "WEBHOOK-TIMESTAMP": "1614265330", "webhook-signature": VECTOR.signature },
      VECTOR.body,
      { now },
    );
    // Among several signatures (other versions, wrong ones), one valid is enough.
    const multi = `v2,${VECTOR.signature.slice(3)} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${VECTOR.signature}`;
    verifyWebhook(VECTOR.secret, { ...good, "webhook-signature": multi }, VECTOR.body, { now });
  });

  it("refuses a changed body, id, missing headers, a bad or stale timestamp", () => {
    const bad: [Record<string, string>, string, number][] = [
      [good, VECTOR.body + " ", now],
      [{ ...good, "webhook-id": "msg_other" }, VECTOR.body, now],
      [{ ...good, "webhook-signature": "v1," }, VECTOR.body, now],
      [{ ...good, "webhook-signature": VECTOR.signature.slice(0, 8) }, VECTOR.body, now],
      [{ ...good, "webhook-signature": `v2,${VECTOR.signature.slice(3)}` }, VECTOR.body, now],
      [{ ...good, "webhook-timestamp": "hello" }, VECTOR.body, now],
      [{ "webhook-id": VECTOR.id, "webhook-signature": VECTOR.signature }, VECTOR.body, now],
      [good, VECTOR.body, now + 301_000],
      [good, VECTOR.body, now - 301_000],
    ];
    for (const [headers, body, at] of bad) {
      expect(() => verifyWebhook(VECTOR.secret, headers, body, { now: at })).toThrow(
        WebhookVerificationError,
      );
    }
    verifyWebhook(VECTOR.secret, good, VECTOR.body, { now: now + 299_000 });
  });

  it("round-trips any body and id, and only throws WebhookVerificationError on tampered input", () => {
    const secret = newSigningSecret();
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), fc.string(), (body, id, junk) => {
        const headers = signWebhook({ secrets: [secret], id, timestampSeconds: 1_700_000_000, body });
        verifyWebhook(secret, headers, body, { now: 1_700_000_000_000 });
        try {
          verifyWebhook(secret, { ...headers, "webhook-signature": junk }, body, { now: 1_700_000_000_000 });
        } catch (e) {
          expect(e).toBeInstanceOf(WebhookVerificationError);
        }
      }),
    );
  });
});
