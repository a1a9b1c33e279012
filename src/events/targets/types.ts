import type { EventEnvelope } from "../envelope.js";

/**
 * A rule target as delivery sees it. Contract: `send` makes one attempt and reports how it
 * ended; it never retries, sleeps or dead-letters (src/events/delivery owns retries, backoff,
 * rate limits and the dead-letter store), never throws for a failure of the receiver (only for
 * a bug), and stops when `signal` aborts (the attempt then fails, retryable).
 */
export interface EventTarget {
  send(req: DeliveryRequest, signal: AbortSignal): Promise<SendResult>;
}

export interface DeliveryRequest {
  /** The body to deliver: the event JSON, or the target's Input / InputPath / InputTransformer result. */
  body: string;
  /** The event being delivered (for headers and logs). */
  event: EventEnvelope;
  /** Stable across the attempts of one delivery (the Standard Webhooks `webhook-id`). */
  deliveryId: string;
  /** The attempt number, 1 for the first. */
  attempt: number;
}

export type SendResult =
  | { ok: true; status?: number }
  | {
      ok: false;
      /** Worth another attempt (timeouts, connection errors, 429, 5xx, 401, 407, 409). */
      retryable: boolean;
      /** The receiver's Retry-After, in ms from now, when it gave one. */
      retryAfterMs?: number;
      /** AWS's dead-letter error codes where one fits (`SDK_CLIENT_ERROR`, ...), else an HTTP_<status>. */
      code: string;
      message: string;
      status?: number;
    };
