import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { waitForServer } from "../../src/run/wait-for-server.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise((r) => {
          s.closeAllConnections();
          s.close(r);
        }),
    ),
  );
});

/** A server whose GET /v1/models lists model "m" with the given max_model_len. */
async function models(maxModelLen: number): Promise<string> {
  const srv = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "m", object: "model", max_model_len: maxModelLen }] }));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  servers.push(srv);
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
}

describe("the start-up check against max_model_len", () => {
  it("refuses ++inference.tokens_to_generate at or over the model's max_model_len, saying what to lower", async () => {
    const baseUrl = await models(4096);
    for (const tokensToGenerate of [4096, 8192]) {
      const err = await waitForServer({ baseUrl, model: "m", waitSeconds: 1, tokensToGenerate }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toContain(`++inference.tokens_to_generate=${tokensToGenerate} leaves no room`);
      expect((err as Error).message).toContain("max_model_len) of 4096 tokens");
      expect((err as Error).message).toContain("Lower ++inference.tokens_to_generate below 4096");
    }
  });

  it("passes a tokens_to_generate that leaves room for a prompt, or none given", async () => {
    const baseUrl = await models(4096);
    for (const tokensToGenerate of [4095, null, undefined]) {
      await expect(waitForServer({ baseUrl, model: "m", waitSeconds: 1, tokensToGenerate })).resolves.toEqual({
        maxModelLen: 4096,
      });
    }
  });
});
