import { checkNoUserInfo } from "../client/endpoint-url.js";
import { UsageError } from "../errors.js";

/**
 * The OpenAI base URL from what users type: `host:port` (NeMo-Skills' form), `http://host:port`
 * or a full `http://host:port/v1`. A query (`?api-version=...`) is kept and sent with every
 * request; a user name or password is refused (checkNoUserInfo), never dropped silently.
 */
export function normalizeServerAddress(addr: string): string {
  let s = addr.trim();
  if (!/^https?:\/\//i.test(s)) s = `http://${s}`;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new UsageError(
      `--server_address "${addr.replace(/\/\/[^/]*@/, "//***@")}" is not a URL (e.g. http://127.0.0.1:8000/v1)`,
    );
  }
  checkNoUserInfo(u);
  const path = u.pathname.replace(/\/+$/, "");
  return `${u.origin}${path === "" ? "/v1" : path}${u.search}`;
}
