import type { Dispatcher } from "undici";
import { readProxyEnv } from "./proxy-env.js";

let shared: Promise<Dispatcher> | undefined;

/**
 * The process's dispatcher for set-up requests, image and hub downloads (a ProxyRouter):
 * proxies from the environment as it is when first asked. Made on first use, undici with it
 * (see undici.ts), so importing this module loads and opens nothing.
 */
export function netDispatcher(): Promise<Dispatcher> {
  shared ??= import("./proxy-router.js").then(
    ({ ProxyRouter }) => new ProxyRouter(readProxyEnv(), { connections: 16 }),
  );
  return shared;
}
