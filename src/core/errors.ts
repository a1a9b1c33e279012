/**
 * Typed errors. Every failure Drydock reports to a client is one of these codes; the
 * code decides the HTTP status and the wire shape (OCI error JSON for the registry).
 * Codes and statuses follow the OCI Distribution Spec v1.1, "Error Codes".
 */
export const OCI_ERRORS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 400,
  TOOMANYREQUESTS: 429,
  /** Not in the spec's table, but the spec's status for an out-of-order chunk. */
  RANGE_INVALID: 416,
} as const;

export type OciErrorCode = keyof typeof OCI_ERRORS;

export class RegistryError extends Error {
  readonly status: number;
  /** Extra response headers (e.g. WWW-Authenticate on UNAUTHORIZED). */
  headers?: Record<string, string>;
  constructor(
    readonly code: OciErrorCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(message);
    this.name = "RegistryError";
    this.status = status ?? OCI_ERRORS[code];
  }

  toJSON(): { errors: { code: string; message: string; detail?: unknown }[] } {
    // RANGE_INVALID is an internal name: the spec says 416 with BLOB_UPLOAD_INVALID.
    const code = this.code === "RANGE_INVALID" ? "BLOB_UPLOAD_INVALID" : this.code;
    return {
      errors: [
        { code, message: this.message, ...(this.detail === undefined ? {} : { detail: this.detail }) },
      ],
    };
  }
}

/** Configuration or startup problems: printed for the operator, exit code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
