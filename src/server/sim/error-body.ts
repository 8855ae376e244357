/**
 * vLLM's error JSON, in both shapes clients meet: new versions nest it under "error", older
 * ones answer a flat {"object": "error", ...}. Inside a stream, vLLM always wraps the error
 * object in {"error": ...}, whichever the version.
 */

export type ErrorFormat = "nested" | "flat";

/** A request the simulator refuses, the way vLLM would. */
export class SimRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = errorTypeFor(status),
  ) {
    super(message);
  }
}

export function errorTypeFor(status: number): string {
  switch (status) {
    case 400:
      return "BadRequestError";
    case 404:
      return "NotFoundError";
    case 429:
      return "RateLimitError";
    case 500:
      return "InternalServerError";
    case 503:
      return "ServiceUnavailableError";
    default:
      return status >= 500 ? "InternalServerError" : "BadRequestError";
  }
}

function inner(format: ErrorFormat, message: string, status: number, type: string) {
  return format === "flat"
    ? { object: "error", message, type, param: null, code: status }
    : { message, type, param: null, code: status };
}

/** The body of an HTTP error answer. */
export function errorBody(format: ErrorFormat, message: string, status: number, type = errorTypeFor(status)): string {
  const e = inner(format, message, status, type);
  return JSON.stringify(format === "flat" ? e : { error: e });
}

/** The JSON of a `data: {"error": ...}` event sent inside a stream that already answered 200. */
export function streamErrorJson(
  format: ErrorFormat,
  message: string,
  status: number,
  type = errorTypeFor(status),
): string {
  return JSON.stringify({ error: inner(format, message, status, type) });
}
