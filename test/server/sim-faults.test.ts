import { request } from "undici";
import { describe, expect, it } from "vitest";
import { startSimServer } from "../../src/server/sim/sim-server.js";
import { post, QUESTION, sseData, userText } from "./sim-helpers.js";

const streamBody = userText(QUESTION, { stream: true, stream_options: { include_usage: true } });

describe("sim-server faults", () => {
  it("fails the first N requests with fail_status and a Retry-After header", async () => {
    const sim = await startSimServer({ fail_first: 2, retry_after: 3 });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await post(sim.url, userText("hi"));
        expect(r.status).toBe(503);
        expect(r.headers["retry-after"]).toBe("3");
        expect(JSON.parse(r.text).error).toMatchObject({ type: "ServiceUnavailableError", param: null, code: 503 });
      }
      expect((await post(sim.url, userText("hi"))).status).toBe(200);
      expect(sim.stats).toMatchObject({ chat: 3, failed: 2, inFlight: 0 });
    } finally {
      await sim.close();
    }
  });

  it("fails the same requests on every run with the same seed, and others with another seed", async () => {
    const failing = async (seed: number) => {
      const sim = await startSimServer({ fail_rate: 0.3, fail_status: 500, seed });
      try {
        const out: number[] = [];
        for (let i = 0; i < 40; i++) if ((await post(sim.url, userText("hi"))).status === 500) out.push(i);
        return out;
      } finally {
        await sim.close();
      }
    };
    const a = await failing(7);
    expect(a.length).toBeGreaterThan(3);
    expect(a.length).toBeLessThan(25);
    expect(await failing(7)).toEqual(a);
    expect(await failing(8)).not.toEqual(a);
  });

  it("changes faults at runtime with setFaults", async () => {
    const sim = await startSimServer({});
    try {
      sim.setFaults({ fail_rate: 1, fail_status: 429 });
      expect((await post(sim.url, userText("hi"))).status).toBe(429);
      sim.setFaults({ fail_rate: 0 });
      expect((await post(sim.url, userText("hi"))).status).toBe(200);
      sim.setFaults({ fail_first: 1, fail_status: 503 });
      expect((await post(sim.url, userText("hi"))).status).toBe(503);
      expect((await post(sim.url, userText("hi"))).status).toBe(200);
      expect(() => sim.setFaults({ fail_rate: 2 })).toThrow(/fail_rate/);
      expect(() => sim.setFaults({ model: "x" } as never)).toThrow(/unknown option model/);
    } finally {
      await sim.close();
    }
  });

  it("drops the connection without an answer", async () => {
    const sim = await startSimServer({ drop_rate: 1 });
    try {
      await expect(post(sim.url, userText("hi"))).rejects.toMatchObject({
        code: expect.stringMatching(/^UND_ERR_SOCKET$|^ECONNRESET$/),
      });
      expect(sim.stats.failed).toBe(1);
      sim.setFaults({ drop_rate: 0 });
      expect((await post(sim.url, userText("hi"))).status).toBe(200);
    } finally {
      await sim.close();
    }
  });

  it("cuts a stream after a few chunks with drop_mid_stream_rate", async () => {
    const sim = await startSimServer({ drop_mid_stream_rate: 1 });
    try {
      const res = await request(`${sim.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(streamBody),
      });
      expect(res.statusCode).toBe(200);
      let received = "";
      const read = (async () => {
        for await (const chunk of res.body) received += String(chunk);
      })();
      await expect(read).rejects.toThrow();
      expect(received).toContain('"role":"assistant"');
      expect(received).not.toContain("[DONE]");
      // Non-stream requests are not affected by a stream-only fault.
      expect((await post(sim.url, userText("hi"))).status).toBe(200);
    } finally {
      await sim.close();
    }
  });

  it("sends an error event inside a 200 stream with stream_error_rate, then [DONE]", async () => {
    for (const format of ["nested", "flat"] as const) {
      const sim = await startSimServer({ stream_error_rate: 1, error_format: format });
      try {
        const r = await post(sim.url, streamBody);
        expect(r.status).toBe(200);
        const data = sseData(r.text);
        expect(data[data.length - 1]).toBe("[DONE]");
        const events = data.slice(0, -1).map((d) => JSON.parse(d));
        const last = events[events.length - 1];
        expect(last.error).toMatchObject({ message: expect.stringMatching(/stream_error_rate/), code: 500 });
        if (format === "flat") expect(last.error.object).toBe("error");
        expect(events.slice(0, -1).every((e) => e.choices[0].finish_reason === null)).toBe(true);
        expect(sim.stats.failed).toBe(1);
      } finally {
        await sim.close();
      }
    }
  });

  it("sends a body that is not JSON, or one SSE line that is not JSON, with malformed_rate", async () => {
    const sim = await startSimServer({ malformed_rate: 1 });
    try {
      const plain = await post(sim.url, userText("hi"));
      expect(plain.status).toBe(200);
      expect(() => JSON.parse(plain.text)).toThrow();
      const stream = await post(sim.url, streamBody);
      const data = sseData(stream.text);
      const bad = data.filter((d) => {
        try {
          JSON.parse(d);
          return false;
        } catch {
          return d !== "[DONE]";
        }
      });
      expect(bad).toHaveLength(1);
      expect(data[data.length - 1]).toBe("[DONE]");
    } finally {
      await sim.close();
    }
  });

  it("stalls a stream after its first chunk, and close() cuts the stall short", async () => {
    const sim = await startSimServer({ stall_ms: 600_000, stall_rate: 1 });
    const res = await request(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(streamBody),
    });
    expect(res.statusCode).toBe(200);
    const it = res.body[Symbol.asyncIterator]();
    const first = String((await it.next()).value);
    expect(sseData(first)).toHaveLength(1);
    expect(sim.stats.inFlight).toBe(1);
    await sim.close();
    // The client sees its stream end without [DONE].
    let rest = "";
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) rest += String(r.value);
    } catch {
      // a reset is also what a client may see
    }
    expect(rest).not.toContain("[DONE]");
  });

  it("spreads latency over a stream and still sends it whole", async () => {
    const sim = await startSimServer({ latency_ms: 30 });
    try {
      const data = sseData((await post(sim.url, streamBody)).text);
      expect(data[data.length - 1]).toBe("[DONE]");
      expect((await post(sim.url, userText("hi"))).status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});
