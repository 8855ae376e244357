import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";

export type ProxyLogEntry = { method: string; target: string; auth?: string };

export type LoggingProxy = { url: string; port: number; log: ProxyLogEntry[]; close(): void };

/**
 * A loopback forward proxy (plain http: absolute-URL requests relayed) and CONNECT proxy
 * (https: bytes tunnelled), logging what it carries. With `credentials` ("user:password") it
 * answers 407 to requests without that Proxy-Authorization.
 */
export async function loggingProxy(credentials?: string): Promise<LoggingProxy> {
  const log: ProxyLogEntry[] = [];
  const expected = credentials ? `Basic ${Buffer.from(credentials).toString("base64")}` : undefined;
  const sockets = new Set<net.Socket>();
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers["proxy-authorization"];
    log.push({ method: req.method ?? "", target: req.url ?? "", auth });
    if (expected && auth !== expected) {
      res.writeHead(407, { "proxy-authenticate": 'Basic realm="test"' });
      res.end();
      return;
    }
    const u = new URL(req.url ?? "");
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    delete headers["proxy-connection"];
    const up = request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  srv.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  srv.on("connect", (req: IncomingMessage, client: net.Socket, head: Buffer) => {
    const auth = req.headers["proxy-authorization"];
    log.push({ method: "CONNECT", target: req.url ?? "", auth });
    client.on("error", () => {});
    if (expected && auth !== expected) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="test"\r\ncontent-length: 0\r\n\r\n',
      );
      return;
    }
    const [host, port] = (req.url ?? "").split(":");
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => sockets.delete(upstream));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    close() {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}
