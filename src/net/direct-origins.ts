/**
 * Origins (`http://127.0.0.1:PORT`) of the servers this process started on this machine: the
 * vLLM or SGLang server of an eval, the simulator. They are reached directly whatever the proxy
 * variables say (proxyFor consults this): a proxy, usually on another host, cannot reach this
 * machine's loopback, and curl and httpx would send those requests to it all the same.
 */
const direct = new Map<string, number>();

/** Reach the origin of `url` directly from now on; the function returned undoes it. */
export function reachDirectly(url: string | URL): () => void {
  const origin = new URL(String(url)).origin;
  direct.set(origin, (direct.get(origin) ?? 0) + 1);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    const n = (direct.get(origin) ?? 1) - 1;
    if (n > 0) direct.set(origin, n);
    else direct.delete(origin);
  };
}

export function isReachedDirectly(target: URL): boolean {
  return direct.size > 0 && direct.has(target.origin);
}
