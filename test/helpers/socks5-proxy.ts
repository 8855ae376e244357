import net, { type AddressInfo } from "node:net";

export type Socks5LogEntry = { target: string; user?: string };

export type Socks5Proxy = { port: number; log: Socks5LogEntry[]; close(): void };

/**
 * A loopback SOCKS5 proxy (RFC 1928, CONNECT only), logging the targets it connects to. With
 * `credentials` ("user:password") it asks for username/password authentication (RFC 1929) and
 * refuses other credentials; without, it takes clients that offer "no authentication".
 */
export async function socks5Proxy(credentials?: string): Promise<Socks5Proxy> {
  const log: Socks5LogEntry[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    let buf = Buffer.alloc(0);
    let state: "greeting" | "auth" | "request" | "piping" = "greeting";
    let user: string | undefined;
    const take = (n: number) => {
      const head = buf.subarray(0, n);
      buf = buf.subarray(n);
      return head;
    };
    const step = (): void => {
      if (state === "greeting") {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
        const methods = [...take(2 + buf[1]!).subarray(2)];
        const method = credentials ? 0x02 : 0x00;
        if (!methods.includes(method)) return void client.end(Buffer.from([5, 0xff]));
        client.write(Buffer.from([5, method]));
        state = credentials ? "auth" : "request";
        return step();
      }
      if (state === "auth") {
        if (buf.length < 2) return;
        const ulen = buf[1]!;
        if (buf.length < 3 + ulen || buf.length < 3 + ulen + buf[2 + ulen]!) return;
        const plen = buf[2 + ulen]!;
        const msg = take(3 + ulen + plen);
        user = msg.subarray(2, 2 + ulen).toString();
        const pass = msg.subarray(3 + ulen).toString();
        if (`${user}:${pass}` !== credentials) return void client.end(Buffer.from([1, 1]));
        client.write(Buffer.from([1, 0]));
        state = "request";
        return step();
      }
      if (state === "request") {
        if (buf.length < 5) return;
        const atyp = buf[3]!;
        const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buf[4]!;
        if (buf.length < 4 + addrLen + 2) return;
        const req = take(4 + addrLen + 2);
        const addr = req.subarray(4, 4 + addrLen);
        const host =
          atyp === 1
            ? [...addr].join(".")
            : atyp === 4
              ? (addr.toString("hex").match(/.{4}/g) ?? []).join(":")
              : addr.subarray(1).toString();
        const port = req.readUInt16BE(4 + addrLen);
        log.push({ target: `${host}:${port}`, ...(user ? { user } : {}) });
        state = "piping";
        const upstream = net.connect(port, host, () => {
          // Succeeded, bound to 0.0.0.0:0 (clients do not use it).
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          if (buf.length) upstream.write(buf);
          upstream.pipe(client);
          client.pipe(upstream);
        });
        sockets.add(upstream);
        upstream.on("close", () => {
          sockets.delete(upstream);
          client.destroy();
        });
        upstream.on("error", () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
        client.on("close", () => upstream.destroy());
      }
    };
    client.on("data", (d: Buffer) => {
      if (state === "piping") return;
      buf = Buffer.concat([buf, d]);
      step();
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as AddressInfo).port,
    log,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}
