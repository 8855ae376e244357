import type { Dispatcher } from "undici";
import { readProxyEnv } from "./proxy-env.js";
import { loadUndici } from "./undici.js";

let shared: Promise<Dispatcher> | undefined;

/**
 * The process's dispatcher for set-up requests, image and hub downloads (a ProxyRouter):
 * proxies from the environment as it is when first asked. Made on first use, undici with it
 * (see undici.ts), so importing this module loads and opens nothing.
 */
export function netDispatcher(): Promise<Dispatcher> {
  // Through loadUndici: undici set up as everywhere else (its SOCKS5 warning, see undici.ts).
  shared ??= loadUndici()
    .then(() => import("./proxy-router.js"))
    .then(({ ProxyRouter }) => new ProxyRouter(readProxyEnv(), { connections: 16 }));
  return shared;
}
