import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { firstValueFrom, from, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/create-client.js";
import { GenerationConfigSchema } from "../../src/config/generation-config.js";
import { generate } from "../../src/operators/generate.js";
import type { Sample } from "../../src/types.js";

// A server answering as vLLM with a reasoning parser does: usage with the prompt's tokens and
// completion_tokens_details.reasoning_tokens, plain JSON or streamed (usage in the last event).
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const stream = (JSON.parse(body) as { stream?: boolean }).stream === true;
      const usage = {
        prompt_tokens: 812,
        completion_tokens: 40,
        total_tokens: 852,
        completion_tokens_details: { reasoning_tokens: 31 },
      };
      const message = { role: "assistant", reasoning_content: "Let me look.", content: "Answer: B" };
      if (!stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "x", choices: [{ index: 0, message, finish_reason: "stop" }], usage }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const event = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      event({ id: "x", choices: [{ index: 0, delta: { role: "assistant", reasoning_content: "Let me look." } }] });
      event({ id: "x", choices: [{ index: 0, delta: { content: "Answer: B" }, finish_reason: "stop" }] });
      event({ id: "x", choices: [], usage });
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe("generate: NeMo-Skills' token counts from the server's usage", () => {
  for (const stream of [false, true]) {
    it(`records num_input_tokens, num_reasoning_tokens and num_answer_tokens (${stream ? "streamed" : "plain JSON"})`, async () => {
      const defaults = GenerationConfigSchema.parse({});
      const client = createClient({ baseUrl: url, concurrency: 2, timeoutSeconds: 30, server: defaults.server });
      const rows: Sample[] = [{ index: 0, row: {}, out: {}, messages: [{ role: "user", content: "Which?" }] }];
      const [s] = await firstValueFrom(
        from(rows).pipe(
          generate({ client, model: "m", inference: defaults.inference, stream, concurrency: 2 }),
          toArray(),
        ),
      );
      await client.close();
      expect(s!.error).toBeUndefined();
      expect(s!.out).toMatchObject({
        generation: "Answer: B",
        reasoning_content: "Let me look.",
        num_generated_tokens: 40,
        num_input_tokens: 812,
        num_reasoning_tokens: 31,
        num_answer_tokens: 9,
      });
    });
  }
});
