/**
 * One error class for the whole product. `code` is a closed union so callers can
 * switch on it; `details` carries structured context (never secrets).
 */
export const ERROR_CODES = [
  "INVALID_EVENT",
  "INVALID_CONFIG",
  "INVALID_ARGUMENT",
  "INVALID_CONSENT",
  "STORE_ERROR",
  "STORE_CORRUPT",
  "NOT_AN_AITRAIL_DB",
  "SCHEMA_TOO_NEW",
  "FOREIGN_SCHEMA",
  "AUDIT_WRITE_FAILED",
  "AUDIT_UNAVAILABLE",
  "QUEUE_FULL",
  "RECORDER_CLOSED",
  "INTEGRITY_VIOLATION",
  "BAD_SIGNATURE",
  "MALFORMED_PROOF",
  "MALFORMED_NOTE",
  "MALFORMED_KEY",
  "KEY_ERROR",
  "WRONG_MASTER_KEY",
  "PROVIDER_ERROR",
  "UNKNOWN_PROVIDER",
  "CONSENT_REQUIRED",
  "PURPOSE_NOT_REGISTERED",
  "INVALID_LEGAL_BASIS",
  "RESIDENCY_VIOLATION",
  "NOT_FOUND",
  "LEGAL_HOLD",
  "ARCHIVE_INVALID",
  "REDACTION_FAILED",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const MARKER = Symbol.for("aitrail.error");

export class AitrailError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly [MARKER] = true;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AitrailError";
    this.code = code;
    this.details = options.details;
  }

  /** True for any AitrailError, also across duplicated copies of the package. */
  static isInstance(value: unknown, code?: ErrorCode): value is AitrailError {
    if (typeof value !== "object" || value === null) return false;
    const marked = (value as Record<symbol, unknown>)[MARKER] === true;
    return marked && (code === undefined || (value as AitrailError).code === code);
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
