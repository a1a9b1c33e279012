import type { NewDeadLetter, NewDelivery } from "./store.js";

/** A pending delivery of event `eventSeq` to rule r1's target t1 on the default bus, for the store tests. */
export const testDelivery = (eventSeq: number, over: Partial<NewDelivery> = {}): NewDelivery => ({
  bus: "default",
  rule: "r1",
  targetId: "t1",
  eventSeq,
  eventJson: null,
  eventTime: 500,
  ...over,
});

/** A dead letter of event `eventSeq` (retries exhausted on HTTP 500), for the store tests. */
export const testDeadLetter = (eventSeq: number, over: Partial<NewDeadLetter> = {}): NewDeadLetter => ({
  queue: "default",
  bus: "default",
  rule: "r1",
  targetId: "t1",
  targetArn: "arn:aws:events:us-east-1:123456789012:api-destination/d1/0",
  eventSeq,
  eventJson: `{"seq":${eventSeq}}`,
  eventTime: 500,
  attempts: 185,
  errorCode: "RETRIES_EXHAUSTED",
  errorMessage: "HTTP 500",
  ...over,
});
