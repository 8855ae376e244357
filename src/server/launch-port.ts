import { createServer } from "node:net";
import { ErrorCodes, VlmError } from "../errors.js";

/**
 * A port nothing listens on now: the OS picks one for a throw-away listener, which is closed
 * before the server is started on it. Another process could take it in between; the health
 * wait then fails fast because the server exits (address in use) and says so.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new VlmError(ErrorCodes.SERVER_START, "no free port"))));
    });
  });
}
