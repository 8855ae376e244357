/**
 * Why a proxy refused us, from the error undici reports, or undefined when it did not: wrong or
 * missing credentials (HTTP 407 on a forward request or a CONNECT, a SOCKS5 authentication
 * failure). Trying again cannot help, unlike a proxy that failed to reach the server.
 */
export function proxyAuthRefusal(e: unknown): string | undefined {
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === "string" ? err.code : "";
  const message = typeof err?.message === "string" ? err.message : "";
  if (code === "UND_ERR_SOCKS5_AUTH_FAILED") return "SOCKS5 user name or password refused";
  if (code === "UND_ERR_SOCKS5_AUTH_REJECTED") return "SOCKS5: none of the authentication methods offered is accepted";
  // undici: "Proxy Authentication Required (407)" (forward), "Proxy response (407) !== 200 when HTTP Tunneling" (CONNECT).
  if (/^Proxy .*\(407\)/.test(message)) return "HTTP 407 Proxy Authentication Required";
  return undefined;
}
