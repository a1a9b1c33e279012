import { AwsError } from "../aws-json.js";

/**
 * Inspector2's errors (restJson1): the HTTP status of each modeled error, and the extra members
 * some carry (`reason` and `fields` of ValidationException, `resourceId` of
 * ServiceQuotaExceededException and ConflictException). The error name travels in the
 * `x-amzn-errortype` header and as `__type` in the body (protocol.ts).
 */

export const INSPECTOR2_ERROR_STATUS: Readonly<Record<string, number>> = {
  ValidationException: 400,
  BadRequestException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ServiceQuotaExceededException: 402,
  ConflictException: 409,
  ThrottlingException: 429,
  InternalServerException: 500,
  // Authentication failures (not modeled; API Gateway-fronted services answer 403).
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 403,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
};

export type ValidationReason = "CANNOT_PARSE" | "FIELD_VALIDATION_FAILED" | "OTHER";

export interface ValidationField {
  /** The member path: `filterCriteria.severity[0].comparison`, `maxResults`. */
  name: string;
  /** What it must satisfy: `Member must have value less than or equal to 100`. */
  message: string;
}

/** An AwsError with extra body members (reason, fields, resourceId, ...). */
export class Inspector2Error extends AwsError {
  constructor(
    code: string,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(code, message, INSPECTOR2_ERROR_STATUS[code] ?? 400);
    this.name = "Inspector2Error";
  }
}

/**
 * ValidationException in AWS's (Coral) message form: `2 validation errors detected: Value at
 * 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100;
 * Value at ...`, with every field listed in `fields`.
 */
export function validationError(
  fields: ValidationField[],
  reason: ValidationReason = "FIELD_VALIDATION_FAILED",
): Inspector2Error {
  const n = fields.length;
  const message =
    n === 0
      ? "Invalid request"
      : `${n} validation error${n === 1 ? "" : "s"} detected: ` +
        fields.map((f) => `Value at '${f.name}' failed to satisfy constraint: ${f.message}`).join("; ");
  return new Inspector2Error("ValidationException", message, { reason, fields });
}

/** One invalid field. */
export function invalidField(name: string, message: string): Inspector2Error {
  return validationError([{ name, message }]);
}

/** A body that is not a JSON object. */
export function cannotParse(message: string): Inspector2Error {
  return new Inspector2Error("ValidationException", message, { reason: "CANNOT_PARSE", fields: [] });
}

export function resourceNotFound(message: string): Inspector2Error {
  return new Inspector2Error("ResourceNotFoundException", message);
}

export function badRequest(message: string): Inspector2Error {
  return new Inspector2Error("BadRequestException", message);
}

export function serviceQuotaExceeded(message: string, resourceId: string): Inspector2Error {
  return new Inspector2Error("ServiceQuotaExceededException", message, { resourceId });
}

export function conflict(message: string, resourceId: string, resourceType: string): Inspector2Error {
  return new Inspector2Error("ConflictException", message, { resourceId, resourceType });
}

/** The status and body of any error thrown by an Inspector2 operation (unknown errors: 500). */
export function renderInspector2Error(e: unknown): {
  status: number;
  code: string;
  body: Record<string, unknown>;
} | null {
  if (!(e instanceof AwsError)) return null;
  const status = INSPECTOR2_ERROR_STATUS[e.code] ?? (e.status >= 500 ? 500 : 400);
  const extra = e instanceof Inspector2Error ? e.extra : {};
  const body: Record<string, unknown> = { __type: e.code, message: e.message, ...extra };
  // A ValidationException always has its required `reason`.
  if (e.code === "ValidationException" && body.reason === undefined) body.reason = "OTHER";
  return { status, code: e.code, body };
}
