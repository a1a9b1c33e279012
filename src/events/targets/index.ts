import type { Config } from "../../config/schema.js";
import type { StoredApiDestination, StoredConnection } from "../../storage/meta/bus-store.js";
import type { TargetArn, TargetKind } from "./arn.js";
import { commandTarget } from "./command.js";
import { apiDestinationTarget } from "./http.js";
import type { HttpAgents } from "./http-request.js";
import type { OAuthTokenCache, SendFailure } from "./oauth.js";
import type { EventTarget } from "./types.js";

/**
 * The one list of event target kinds: what each ARN kind (src/events/targets/arn.ts) is
 * delivered by. A new kind is added here, to `TargetKind`, and to the ARN parser.
 */

export { commandArn, parseDeadLetterArn, parseTargetArn, type TargetArn, type TargetKind } from "./arn.js";
export { commandTarget, type CommandSpec } from "./command.js";
export { apiDestinationTarget, ROTATION_OVERLAP_MS, type ApiDestinationOptions } from "./http.js";
export { closeSharedAgents, sharedAgents, type HttpAgents } from "./http-request.js";
export { OAuthTokenCache, type SendFailure } from "./oauth.js";
export type { DeliveryRequest, EventTarget, SendResult } from "./types.js";

export interface TargetDeps {
  /** The API destination of that name and its connection; undefined when either is gone. */
  apiDestination(name: string): Promise<{ dest: StoredApiDestination; conn: StoredConnection } | undefined>;
  commands: Config["events"]["commands"];
  /** An HTTP target's timeout per attempt. */
  timeoutMs: number;
  userAgent: string;
  oauth: OAuthTokenCache;
  now?: () => number;
  agents?: HttpAgents;
}

/**
 * The target names something that does not exist (a deleted API destination or connection, a
 * command missing from the configuration): retrying cannot help until someone acts, so the
 * delivery is dead-lettered at once, as EventBridge does for missing target resources.
 */
export class TargetUnavailableError extends Error {
  override name = "TargetUnavailableError";
  /** EventBridge's dead-letter error code for a missing target resource. */
  readonly code = "NO_RESOURCE";
  /** The same as a non-retryable attempt result. */
  get result(): SendFailure {
    return { ok: false, retryable: false, code: this.code, message: this.message };
  }
}

type Build = (arn: TargetArn, target: Record<string, unknown>, deps: TargetDeps) => Promise<EventTarget>;

export type TargetKindEntry =
  /** Sent by `createTarget(...).send`, outside any transaction. */
  | { delivery: "send"; build: Build }
  /**
   * Delivered by src/events/delivery itself: the event is appended to the named bus in the
   * same transaction that completes the delivery, so there is no attempt that can fail halfway.
   */
  | { delivery: "in-transaction" };

export const TARGET_KINDS: { readonly [K in TargetKind]: TargetKindEntry } = {
  "api-destination": {
    delivery: "send",
    async build(arn, target, deps) {
      const found = await deps.apiDestination(arn.name);
      if (!found)
        throw new TargetUnavailableError(`API destination ${arn.name} or its connection does not exist`);
      return apiDestinationTarget(found.dest, found.conn, target, {
        timeoutMs: deps.timeoutMs,
        userAgent: deps.userAgent,
        oauth: deps.oauth,
        now: deps.now,
        agents: deps.agents,
      });
    },
  },
  command: {
    delivery: "send",
    build(arn, _target, deps) {
      const cmd = Object.hasOwn(deps.commands, arn.name) ? deps.commands[arn.name] : undefined;
      if (!cmd) {
        return Promise.reject(
          new TargetUnavailableError(`command ${arn.name} is not configured (events.commands.${arn.name})`),
        );
      }
      return Promise.resolve(commandTarget(arn.name, cmd));
    },
  },
  "event-bus": { delivery: "in-transaction" },
};

/** Whether deliveries to this kind are made inside the delivery's transaction (not by `send`). */
export function deliveredInTransaction(kind: TargetKind): boolean {
  return TARGET_KINDS[kind].delivery === "in-transaction";
}

/**
 * The target an ARN names. Rejects with TargetUnavailableError when what it names is gone;
 * calling it for an in-transaction kind (event-bus) is a bug and throws a plain Error.
 */
export function createTarget(
  arn: TargetArn,
  target: Record<string, unknown>,
  deps: TargetDeps,
): Promise<EventTarget> {
  const entry = TARGET_KINDS[arn.kind];
  if (entry.delivery !== "send") {
    return Promise.reject(
      new Error(`${arn.kind} targets are delivered in the delivery's transaction, not sent`),
    );
  }
  return entry.build(arn, target, deps);
}
