/**
 * The console's events views (/api/console/events/...): the bus's rules and targets, pending
 * deliveries and the dead-letter store with redrive. Type-only: imported by
 * src/api/console/events.ts and web/src/pages/events/.
 */

export interface EventsPage<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface EventRuleView {
  bus: string;
  name: string;
  arn: string;
  state: string;
  eventPattern: string | null;
  scheduleExpression: string | null;
  description: string | null;
  targets: number;
  /** Deliveries waiting (due, retrying or being sent). */
  pending: number;
  deadLetters: number;
  updatedAt: number;
}

export interface EventTargetView {
  bus: string;
  rule: string;
  id: string;
  arn: string;
  /** Target members other than Id and Arn (Input, RetryPolicy, DeadLetterConfig, ...). */
  settings: Record<string, unknown>;
  pending: number;
  deadLetters: number;
}

export type DeliveryStatus = "PENDING" | "RETRYING" | "SENDING";

export interface DeliveryView {
  id: number;
  bus: string;
  rule: string;
  targetId: string;
  eventId: string | null;
  detailType: string | null;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  /** Epoch ms: the next attempt (or the lease's end while sending). */
  nextAttemptAt: number;
  eventTime: number;
  createdAt: number;
}

export interface DeadLetterView {
  id: number;
  queue: string;
  bus: string;
  rule: string;
  targetId: string;
  targetArn: string;
  eventId: string | null;
  detailType: string | null;
  attempts: number;
  errorCode: string;
  errorMessage: string;
  deadAt: number;
  /** The event as it was to be delivered. */
  event: unknown;
}

/** POST /api/console/events/dead-letters/redrive (admin): these ids, or every letter matching the filter. */
export interface RedriveRequest {
  ids?: number[];
  bus?: string;
  rule?: string;
  targetId?: string;
  queue?: string;
}

export interface RedriveResult {
  redriven: number;
}
