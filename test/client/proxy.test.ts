import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { loggingProxy } from "../helpers/logging-proxy.js";
import { socks5Proxy } from "../helpers/socks5-proxy.js";

// Every connection vlmpipe opens goes through the proxy the environment names (curl's and
// httpx's rules): the start-up check (GET /v1/models), the chat requests, image downloads and
// hub downloads; https through CONNECT, plain http as forward requests.

const tls = path.join(repoRoot, "fixtures", "tls");
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

const NO_ENV_PROXY = {
  HTTP_PROXY: "",
  HTTPS_PROXY: "",
  ALL_PROXY: "",
  NO_PROXY: "",
  http_proxy: "",
  https_proxy: "",
  all_proxy: "",
  no_proxy: "",
};

/** An OpenAI-compatible server (and an image host) on loopback. */
async function origin(secure = false) {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#336699" } })
    .png()
    .toBuffer();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/cat.png") {
        res.writeHead(200, { "content-type": "image/png" });
        return res.end(png);
      }
      const chat = req.method === "POST";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          chat
            ? { choices: [{ index: 0, message: { role: "assistant", content: "Answer: B" }, finish_reason: "stop" }] }
            : { data: [{ id: "sim" }] },
        ),
      );
    });
  };
  const srv = secure
    ? createHttpsServer(
        { key: readFileSync(path.join(tls, "localhost.key")), cert: readFileSync(path.join(tls, "localhost.crt")) },
        handler,
      )
    : createServer(handler);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  closers.push(() => {
    srv.closeAllConnections();
    srv.close();
  });
  const port = (srv.address() as AddressInfo).port;
  return { port, base: `${secure ? "https" : "http"}://127.0.0.1:${port}` };
}

async function generate(server: string, env: Record<string, string>, rows: object[], extra: string[] = []) {
  const child = spawnCli(
    [
      "generate",
      "--input_file",
      "-",
      "--output_file",
      "-",
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_address",
      `${server}/v1`,
      "--quiet",
      "++server.max_retries=0",
      "++server.stream=false",
      "++server.wait_timeout=5",
      ...extra,
    ],
    { env: { ...NO_ENV_PROXY, ...env } },
  );
  child.stdin?.end(rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const r = await waitExit(child);
  const lines = r.stdout.trim()
    ? r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { error?: { message: string } })
    : [];
  return { ...r, lines };
}

const row = (i: number, image: string | null = null) => ({
  id: `q${i}`,
  problem: `Question ${i}?`,
  image_path: image,
  expected_answer: "B",
});

describe("proxies from the environment", () => {
  it("sends the start-up check, chat requests and image downloads through HTTP_PROXY, with its credentials, never shown", async () => {
    const proxy = await loggingProxy("user:s3cret");
    closers.push(proxy.close);
    const api = await origin();
    const images = await origin();
    const r = await generate(
      api.base,
      { HTTP_PROXY: `http://user:s3cret@127.0.0.1:${proxy.port}` },
      [row(0, `${images.base}/cat.png`), row(1)],
      ["++image.fetch=true"],
    );
    expect(r.lines.map((l) => l.error)).toEqual([undefined, undefined]);
    expect(r.code).toBe(0);
    const seen = proxy.log.map((e) => `${e.method} ${e.target}`);
    expect(seen).toContain(`GET ${api.base}/v1/models`);
    expect(seen.filter((s) => s === `POST ${api.base}/v1/chat/completions`)).toHaveLength(2);
    expect(seen).toContain(`GET ${images.base}/cat.png`);
    expect(proxy.log.every((e) => e.auth === `Basic ${Buffer.from("user:s3cret").toString("base64")}`)).toBe(true);
    expect(r.stdout + r.stderr).not.toContain("s3cret");
  });

  it("fails the run's set-up with a refused proxy password, without printing it", async () => {
    const proxy = await loggingProxy("user:right");
    closers.push(proxy.close);
    const api = await origin();
    const r = await generate(
      api.base,
      { http_proxy: `http://user:wr0ng@127.0.0.1:${proxy.port}` },
      [row(0)],
      ["++server.wait_timeout=1"],
    );
    // At once, as a usage error naming the proxy (not "is the server running?" after the wait).
    expect(r.code).toBe(2);
    expect(proxy.log).toHaveLength(1);
    expect(r.stderr).toContain(`the proxy http://127.0.0.1:${proxy.port} refused us (HTTP 407`);
    expect(r.stdout + r.stderr).not.toContain("wr0ng");
  });

  it("goes direct for NO_PROXY hosts (host, host:port, *) and through the proxy for another port", {
    timeout: 120_000,
  }, async () => {
    const proxy = await loggingProxy();
    closers.push(proxy.close);
    const api = await origin();
    // (Suffixes and ranges: proxy-env.test.ts.)
    for (const no of ["127.0.0.1", `example.com 127.0.0.1:${api.port}`, "*"]) {
      const r = await generate(api.base, { HTTP_PROXY: proxy.url, NO_PROXY: no }, [row(0)]);
      expect(r.lines.map((l) => l.error)).toEqual([undefined]);
    }
    expect(proxy.log).toEqual([]);
    const r = await generate(api.base, { HTTP_PROXY: proxy.url, NO_PROXY: `127.0.0.1:${api.port + 1}` }, [row(0)]);
    expect(r.lines.map((l) => l.error)).toEqual([undefined]);
    expect(proxy.log.map((e) => e.method)).toEqual(["GET", "POST"]);
  });

  it("tunnels https through CONNECT (HTTPS_PROXY), the certificate checked end to end", async () => {
    const proxy = await loggingProxy();
    closers.push(proxy.close);
    const api = await origin(true);
    const r = await generate(
      api.base,
      {
        HTTPS_PROXY: proxy.url,
        HTTP_PROXY: "http://127.0.0.1:9",
        NODE_EXTRA_CA_CERTS: path.join(tls, "localhost.crt"),
      },
      [row(0), row(1)],
    );
    expect(r.lines.map((l) => l.error)).toEqual([undefined, undefined]);
    expect(new Set(proxy.log.map((e) => `${e.method} ${e.target}`))).toEqual(
      new Set([`CONNECT 127.0.0.1:${api.port}`]),
    );
  });

  it("sends hub listings and downloads through the proxy", async () => {
    const proxy = await loggingProxy();
    closers.push(proxy.close);
    const hub = await origin();
    const http = path.join(repoRoot, "dist", "hub", "http.js");
    const script = `
      const { retryingFetch, getFollowingRedirects } = await import(${JSON.stringify(http)});
      const a = await retryingFetch()(${JSON.stringify(`${hub.base}/api/datasets/x`)});
      await a.text();
      const b = await getFollowingRedirects(${JSON.stringify(`${hub.base}/datasets/x/resolve/main/f`)}, { hub: { hubUrl: ${JSON.stringify(hub.base)} } });
      await b.body.text();
      process.stdout.write(String(a.status) + " " + String(b.statusCode));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, ...NO_ENV_PROXY, HTTP_PROXY: proxy.url },
    });
    const r = await waitExit(child);
    expect(r.stdout).toBe("200 200");
    expect(proxy.log.map((e) => `${e.method} ${e.target}`)).toEqual([
      `GET ${hub.base}/api/datasets/x`,
      `GET ${hub.base}/datasets/x/resolve/main/f`,
    ]);
  });

  it("goes through a SOCKS5 proxy from ALL_PROXY (socks5://, with its credentials, never shown) for plain http", async () => {
    const proxy = await socks5Proxy("user:s0cks");
    closers.push(proxy.close);
    const api = await origin();
    const r = await generate(api.base, { ALL_PROXY: `socks5://user:s0cks@127.0.0.1:${proxy.port}` }, [row(0), row(1)]);
    expect(r.lines.map((l) => l.error)).toEqual([undefined, undefined]);
    expect(r.code).toBe(0);
    // The start-up check and the chat requests' connections, all to the server.
    expect(proxy.log.length).toBeGreaterThanOrEqual(2);
    expect(new Set(proxy.log.map((e) => `${e.user} ${e.target}`))).toEqual(new Set([`user 127.0.0.1:${api.port}`]));
    expect(r.stdout + r.stderr).not.toContain("s0cks");
    // undici's "SOCKS5 proxy support is experimental" warning is not passed on.
    expect(r.stderr).not.toContain("Warning");
  });

  it("tunnels https through a socks5h:// proxy, the certificate checked end to end", async () => {
    const proxy = await socks5Proxy();
    closers.push(proxy.close);
    const api = await origin(true);
    const r = await generate(
      api.base,
      { https_proxy: `socks5h://127.0.0.1:${proxy.port}`, NODE_EXTRA_CA_CERTS: path.join(tls, "localhost.crt") },
      [row(0)],
    );
    expect(r.lines.map((l) => l.error)).toEqual([undefined]);
    expect(new Set(proxy.log.map((e) => e.target))).toEqual(new Set([`127.0.0.1:${api.port}`]));
  });

  it("fails the set-up with a refused SOCKS5 password, without printing it", async () => {
    const proxy = await socks5Proxy("user:right");
    closers.push(proxy.close);
    const api = await origin();
    const r = await generate(
      api.base,
      { ALL_PROXY: `socks5://user:wr0ng@127.0.0.1:${proxy.port}` },
      [row(0)],
      ["++server.wait_timeout=1"],
    );
    expect(r.code).toBe(2);
    expect(proxy.log).toEqual([]);
    expect(r.stderr).toContain(
      `the proxy socks5://127.0.0.1:${proxy.port} refused us (SOCKS5 user name or password refused)`,
    );
    expect(r.stdout + r.stderr).not.toContain("wr0ng");
  });

  it("refuses SOCKS4 proxies (socks4://, socks4a://, socks://, SOCKS4 in curl) by name, before any connection", async () => {
    const api = await origin();
    for (const scheme of ["socks4", "socks4a", "socks"]) {
      const r = await generate(api.base, { ALL_PROXY: `${scheme}://user:s3cret@127.0.0.1:1080` }, [row(0)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${scheme}://127.0.0.1:1080`);
      expect(r.stderr).toContain("SOCKS4");
      expect(r.stdout + r.stderr).not.toContain("s3cret");
    }
  });
});
