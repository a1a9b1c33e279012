import { createHash } from "node:crypto";
import type { AwsIdentity } from "./envelope.js";

/**
 * The ARNs of the bus's resources, as EventBridge writes them:
 * `arn:aws:events:<region>:<account>:rule/<name>` (a rule of the default bus) or
 * `rule/<bus>/<name>`, `event-bus/<name>`, `connection/<name>/<uuid>`,
 * `api-destination/<name>/<uuid>`, `archive/<name>`, `replay/<name>`.
 *
 * AWS gives connections and API destinations a random uuid; Drydock derives it from the name and
 * the creation time (a hash), so that it is stable without being stored and changes when a
 * resource of the same name is created again (as AWS's does).
 */

export type EventsResourceKind =
  "rule" | "event-bus" | "connection" | "api-destination" | "archive" | "replay";

export interface EventsResourceRef {
  kind: EventsResourceKind;
  name: string;
  /** The bus of a rule (`default` for `rule/<name>`). */
  bus?: string;
  /** The uuid part of a connection's or API destination's ARN. */
  uuid?: string;
}

const prefix = (id: AwsIdentity) => `arn:aws:events:${id.region}:${id.accountId}:`;

export const busArn = (id: AwsIdentity, bus: string) => `${prefix(id)}event-bus/${bus}`;

export const ruleArn = (id: AwsIdentity, bus: string, name: string) =>
  bus === "default" ? `${prefix(id)}rule/${name}` : `${prefix(id)}rule/${bus}/${name}`;

/** A uuid-shaped hash of what identifies one incarnation of a resource. */
export function stableUuid(kind: string, name: string, createdAt: number): string {
  const h = createHash("sha256").update(`${kind}\0${name}\0${createdAt}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export const connectionArn = (id: AwsIdentity, c: { name: string; createdAt: number }) =>
  `${prefix(id)}connection/${c.name}/${stableUuid("connection", c.name, c.createdAt)}`;

export const apiDestinationArn = (id: AwsIdentity, d: { name: string; createdAt: number }) =>
  `${prefix(id)}api-destination/${d.name}/${stableUuid("api-destination", d.name, d.createdAt)}`;

export const archiveArn = (id: AwsIdentity, name: string) => `${prefix(id)}archive/${name}`;

export const replayArn = (id: AwsIdentity, name: string) => `${prefix(id)}replay/${name}`;

/**
 * Where Secrets Manager would keep a connection's secret on AWS (DescribeConnection's
 * SecretArn). Drydock keeps the secret in its database; the ARN is only a name.
 */
export const connectionSecretArn = (id: AwsIdentity, c: { name: string; createdAt: number }) =>
  `arn:aws:secretsmanager:${id.region}:${id.accountId}:secret:events!connection/${c.name}/${stableUuid("connection", c.name, c.createdAt)}`;

/**
 * Reads an events ARN of this region and account (another account's or region's resource does
 * not exist here: undefined), or undefined when it is not one.
 */
export function parseEventsArn(id: AwsIdentity, arn: string): EventsResourceRef | undefined {
  const p = prefix(id);
  if (!arn.startsWith(p)) return undefined;
  const rest = arn.slice(p.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const kind = rest.slice(0, slash);
  const parts = rest.slice(slash + 1).split("/");
  if (parts.some((s) => s === "")) return undefined;
  switch (kind) {
    case "rule":
      if (parts.length === 1) return { kind, bus: "default", name: parts[0]! };
      if (parts.length === 2) return { kind, bus: parts[0]!, name: parts[1]! };
      return undefined;
    case "event-bus":
    case "archive":
    case "replay":
      return parts.length === 1 ? { kind, name: parts[0]! } : undefined;
    case "connection":
    case "api-destination":
      return parts.length === 2 ? { kind, name: parts[0]!, uuid: parts[1]! } : undefined;
    default:
      return undefined;
  }
}

/**
 * The bus an `EventBusName` member names: a name, or an event bus ARN (EventBridge accepts
 * both); undefined for an ARN that is not one of this account's buses.
 */
export function busNameOf(id: AwsIdentity, nameOrArn: string | undefined): string | undefined {
  if (nameOrArn === undefined) return "default";
  if (!nameOrArn.startsWith("arn:")) return nameOrArn;
  const ref = parseEventsArn(id, nameOrArn);
  return ref?.kind === "event-bus" ? ref.name : undefined;
}
