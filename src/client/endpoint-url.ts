import { UsageError } from "../errors.js";

/**
 * `<base>/<endpoint>` with the base URL's query kept (`...?api-version=...` goes on every
 * request, Azure-style). A base URL with a user name or password is refused, never used
 * silently without them: vlmpipe passes server addresses to job scripts and logs, where a
 * password does not belong (see checkNoUserInfo).
 */
export function endpointUrl(base: string, endpoint: string): URL {
  const u = new URL(base);
  checkNoUserInfo(u);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/${endpoint}`;
  return u;
}

/** Refuses user info in a server URL, without repeating it. */
export function checkNoUserInfo(u: URL): void {
  if (!u.username && !u.password) return;
  throw new UsageError(
    `the server address ${u.protocol}//***@${u.host}${u.pathname} holds a user name or password: vlmpipe does not ` +
      "send them (it would have to write them into job scripts and logs). Give an API key with --api_key or " +
      "OPENAI_API_KEY (sent as a Bearer token), or reach the server through a proxy that authenticates (HTTPS_PROXY)",
  );
}
