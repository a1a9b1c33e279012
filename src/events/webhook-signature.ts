import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): every HTTP delivery carries
 * `webhook-id`, `webhook-timestamp` and `webhook-signature`, the last being `v1,<base64
 * HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed by the base64-decoded secret. During a
 * rotation the header holds one signature per secret, space-separated, and a receiver accepts
 * the request when any one verifies. `verifyWebhook` is what a receiver does (tests and docs).
 */

const PREFIX = "whsec_";

/** A new connection signing secret: `whsec_` + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

/** The HMAC key of a secret (the prefix is optional, as in the reference libraries). */
export function signingKey(secret: string): Buffer {
  const b64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const key = Buffer.from(b64, "base64");
  if (key.length === 0) throw new Error("empty webhook signing secret");
  return key;
}

/** `v1,<base64>` for one key. */
export function signatureFor(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.`).update(body).digest("base64");
  return `v1,${mac}`;
}

export interface SignInput {
  /** The current secret first; the previous one too within a day after a rotation. */
  secrets: readonly (string | Buffer)[];
  id: string;
  timestampSeconds: number;
  body: string;
}

/** The three headers of a signed delivery. Secrets may be given as strings or decoded keys. */
export function signWebhook(input: SignInput): Record<string, string> {
  const sigs = input.secrets.map((s) =>
    signatureFor(typeof s === "string" ? signingKey(s) : s, input.id, input.timestampSeconds, input.body),
  );
  return {
    "webhook-id": input.id,
    "webhook-timestamp": String(input.timestampSeconds),
    "webhook-signature": sigs.join(" "),
  };
}

export class WebhookVerificationError extends Error {
  override name = "WebhookVerificationError";
}

/**
 * Verifies a delivery as a receiver does: the timestamp within `toleranceSeconds` of `now`
 * (replays of old deliveries are refused), and one `v1` signature equal, compared in constant
 * time. Header names are matched case-insensitively. Throws WebhookVerificationError.
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  opts: { toleranceSeconds?: number; now?: number } = {},
): void {
  const h = (name: string): string | undefined => {
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(" ") : v;
    }
    return undefined;
  };
  const id = h("webhook-id");
  const ts = h("webhook-timestamp");
  const sig = h("webhook-signature");
  if (!id || !ts || !sig) throw new WebhookVerificationError("missing webhook headers");
  if (!/^[0-9]{1,15}$/.test(ts)) throw new WebhookVerificationError("invalid webhook-timestamp");
  const timestamp = Number(ts);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const tolerance = opts.toleranceSeconds ?? 300;
  if (Math.abs(now - timestamp) > tolerance) throw new WebhookVerificationError("timestamp out of tolerance");
  const expected = Buffer.from(signatureFor(signingKey(secret), id, timestamp, body).slice(3), "base64");
  for (const part of sig.split(" ")) {
    const comma = part.indexOf(",");
    if (comma < 0 || part.slice(0, comma) !== "v1") continue;
    const given = Buffer.from(part.slice(comma + 1), "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return;
  }
  throw new WebhookVerificationError("no matching signature");
}
