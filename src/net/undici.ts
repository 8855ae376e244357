/**
 * undici, loaded on first use. A plain-http run (vLLM, the simulator) sends every request on
 * vlmpipe's own pool and never needs it; importing undici and sending its first request cost
 * a process ~0.4 s of CPU and ~55 MB of memory (its llhttp WebAssembly is compiled then), a
 * tenth of a 20,000-row image run (docs/performance.md, "Figures behind the code").
 */
export type Undici = typeof import("undici");

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  loading ??= import("undici");
  return loading;
}
