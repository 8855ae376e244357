import { describe, expect, it } from "vitest";
import { transportError } from "../../src/client/http-error.js";
import { Http1Error } from "../../src/client/http1-pool.js";
import { ErrorCodes } from "../../src/errors.js";

describe("transportError", () => {
  it("maps each of the own HTTP/1.1 pool's codes to a vlmpipe code, retryable", () => {
    const cases: Array<[Http1Error["code"], string]> = [
      ["HEADERS_TIMEOUT", ErrorCodes.TIMEOUT],
      ["BODY_TIMEOUT", ErrorCodes.TIMEOUT],
      ["CONNECT_TIMEOUT", ErrorCodes.CONNECTION],
      ["SOCKET_CLOSED", ErrorCodes.CONNECTION],
      ["BAD_RESPONSE", ErrorCodes.CONNECTION],
      ["POOL_CLOSED", ErrorCodes.CONNECTION],
    ];
    for (const [code, expected] of cases) {
      const e = transportError(new Http1Error(code, "detail"));
      expect(e.code, code).toBe(expected);
      expect(e.retryable, code).toBe(true);
      expect(e.message).toContain(code.endsWith("TIMEOUT") && code !== "CONNECT_TIMEOUT" ? code : "detail");
    }
  });

  it("keeps Node's and undici's socket codes apart from the pool's: a bare string code is not the pool's", () => {
    const bare = Object.assign(new Error("gone"), { code: "SOCKET_CLOSED" });
    expect(transportError(bare)).toMatchObject({ code: ErrorCodes.CONNECTION, message: "request failed: gone" });
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(transportError(reset)).toMatchObject({ code: ErrorCodes.CONNECTION, retryable: true });
    // undici's own timeouts serve non-streamed requests only (a stream's idle clock is the transport's).
    const slow = Object.assign(new Error("Body Timeout Error"), { code: "UND_ERR_BODY_TIMEOUT" });
    expect(transportError(slow)).toMatchObject({ code: ErrorCodes.TIMEOUT, retryable: true });
    expect(transportError(slow).message).toContain("see ++server.timeout");
  });

  it("reads an aborted signal as an abort, whatever the error", () => {
    const a = new AbortController();
    a.abort();
    expect(transportError(new Http1Error("SOCKET_CLOSED", "x"), a.signal)).toMatchObject({
      code: ErrorCodes.ABORTED,
      retryable: false,
    });
  });
});
