/**
 * Errors with stable codes. Users, resume and tests match on `code`, never on message text.
 * `toJSON()` is explicit so an error survives JSON.stringify into an NDJSON line.
 */
export const ErrorCodes = {
  BAD_JSON: "VLM_E_BAD_JSON",
  ENCODING: "VLM_E_ENCODING",
  NOT_AN_OBJECT: "VLM_E_NOT_AN_OBJECT",
  MISSING_FIELD: "VLM_E_MISSING_FIELD",
  PROMPT_CONFIG: "VLM_E_PROMPT_CONFIG",
  IMAGE_NOT_FOUND: "VLM_E_IMAGE_NOT_FOUND",
  IMAGE_READ: "VLM_E_IMAGE_READ",
  IMAGE_DECODE: "VLM_E_IMAGE_DECODE",
  IMAGE_TOO_LARGE: "VLM_E_IMAGE_TOO_LARGE",
  IMAGE_FETCH: "VLM_E_IMAGE_FETCH",
  TOO_MANY_IMAGES: "VLM_E_TOO_MANY_IMAGES",
  HTTP: "VLM_E_HTTP",
  CONNECTION: "VLM_E_CONNECTION",
  TIMEOUT: "VLM_E_TIMEOUT",
  BAD_RESPONSE: "VLM_E_BAD_RESPONSE",
  CONTEXT_LENGTH: "VLM_E_CONTEXT_LENGTH",
  ABORTED: "VLM_E_ABORTED",
  CONFIG: "VLM_E_CONFIG",
  USAGE: "VLM_E_USAGE",
  OUTPUT: "VLM_E_OUTPUT",
  RUN_MISMATCH: "VLM_E_RUN_MISMATCH",
  SERVER_START: "VLM_E_SERVER_START",
  DATA: "VLM_E_DATA",
  INTERNAL: "VLM_E_INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class VlmError extends Error {
  readonly code: ErrorCode;
  /** HTTP status, when the error came from a server answer. */
  readonly status?: number;
  /** Whether trying the same request again may succeed. */
  readonly retryable: boolean;
  /** Seconds the server asked us to wait (Retry-After). */
  readonly retryAfter?: number;
  /** Attempts made before giving up, set by the retry layer. */
  attempts?: number;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { status?: number; retryable?: boolean; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "VlmError";
    this.code = code;
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
    this.retryAfter = opts.retryAfter;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.status !== undefined) out.status = this.status;
    if (this.attempts !== undefined) out.attempts = this.attempts;
    return out;
  }
}

/** A problem with flags, configs or files found before any work: exits 2 with this message. */
export class UsageError extends VlmError {
  constructor(message: string) {
    super(ErrorCodes.USAGE, message);
    this.name = "UsageError";
  }
}

export function isVlmError(e: unknown): e is VlmError {
  return e instanceof VlmError;
}

/** The message of anything thrown, for records and logs. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
