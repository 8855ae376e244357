/**
 * undici, loaded on first use. A plain-http run (vLLM, the simulator) sends every request on
 * vlmpipe's own pool and never needs it; importing undici and sending its first request cost
 * a process ~0.4 s of CPU and ~55 MB of memory (its llhttp WebAssembly is compiled then), a
 * tenth of a 20,000-row image run (docs/performance.md, "Figures behind the code").
 */
export type Undici = typeof import("undici");

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  loading ??= import("undici").then((u) => {
    quietSocks5Warning();
    return u;
  });
  return loading;
}

const SOCKS5_WARNING = "SOCKS5 proxy support is experimental and subject to change";

/**
 * undici warns on stderr, once, when a SOCKS5 proxy is first used. vlmpipe chose that path and
 * tests it end to end (test/client/proxy.test.ts), so the warning is dropped: it would only
 * worry users of socks5:// proxies. Every other warning is passed on as it is.
 */
function quietSocks5Warning(): void {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if ((typeof warning === "string" ? warning : warning?.message) === SOCKS5_WARNING) return;
    return (emit as (...a: unknown[]) => void).call(this ?? process, warning, ...rest);
  } as typeof process.emitWarning;
}
