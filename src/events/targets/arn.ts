/**
 * The ARNs a rule target and its dead-letter config may name. Parsed from untrusted input
 * (PutTargets), so the parsers only match and never throw: anything else is `undefined`.
 */

export type TargetKind = "api-destination" | "event-bus" | "command";

export interface TargetArn {
  kind: TargetKind;
  name: string;
  region: string;
  account: string;
}

// AWS partitions (aws, aws-cn, aws-us-gov, ...): an ARN copied from another partition's console
// still names the same kind of resource.
const PARTITION = "aws(?:-[a-z]+)*";
const REGION = "[a-z]{2}(?:-[a-z]+)+-[0-9]+";
const ACCOUNT = "[0-9]{12}";
/** Rule, connection, API destination and command names (PutRule's rule). */
const NAME = "[.\\-_A-Za-z0-9]{1,64}";
/** CreateEventBus allows 256 characters (partner buses' `/` is not supported here). */
const BUS_NAME = "[.\\-_A-Za-z0-9]{1,256}";
/** The resource id AWS appends to an API destination's ARN (a UUID); not part of the name. */
const DESTINATION_ID = "[A-Za-z0-9-]{1,64}";
/** SQS: alphanumerics, `-` and `_`, 1–80 characters, a FIFO queue's `.fifo` counted in. */
const SQS_NAME = "(?=[-_A-Za-z0-9.]{1,80}$)[-_A-Za-z0-9]+(?:\\.fifo)?";

const API_DESTINATION = new RegExp(
  `^arn:${PARTITION}:events:(${REGION}):(${ACCOUNT}):api-destination/(${NAME})(?:/${DESTINATION_ID})?$`,
);
const EVENT_BUS = new RegExp(`^arn:${PARTITION}:events:(${REGION}):(${ACCOUNT}):event-bus/(${BUS_NAME})$`);
const COMMAND = new RegExp(`^arn:drydock:command:(${REGION}):(${ACCOUNT}):(${NAME})$`);
const DRYDOCK_DLQ = new RegExp(`^arn:drydock:dlq:(${REGION}):(${ACCOUNT}):(${NAME})$`);
const SQS_DLQ = new RegExp(`^arn:${PARTITION}:sqs:(${REGION}):(${ACCOUNT}):(${SQS_NAME})$`);

const TARGETS: [TargetKind, RegExp][] = [
  ["api-destination", API_DESTINATION],
  ["event-bus", EVENT_BUS],
  ["command", COMMAND],
];

/** A target's ARN, or undefined when it names nothing Drydock can deliver to. */
export function parseTargetArn(arn: string): TargetArn | undefined {
  if (typeof arn !== "string" || arn.length > 1600) return undefined;
  for (const [kind, re] of TARGETS) {
    const m = re.exec(arn);
    if (m) return { kind, region: m[1]!, account: m[2]!, name: m[3]! };
  }
  return undefined;
}

/**
 * The dead-letter store a `DeadLetterConfig.Arn` names: `arn:drydock:dlq:...:<name>`, or an
 * SQS queue's ARN, which maps to the store of the queue's name (there is no SQS here).
 */
export function parseDeadLetterArn(arn: string): string | undefined {
  if (typeof arn !== "string" || arn.length > 1600) return undefined;
  const m = DRYDOCK_DLQ.exec(arn) ?? SQS_DLQ.exec(arn);
  return m ? m[3] : undefined;
}

/** The ARN of a command target (as the docs and `drydock events` print it). */
export function commandArn(region: string, account: string, name: string): string {
  return `arn:drydock:command:${region}:${account}:${name}`;
}
