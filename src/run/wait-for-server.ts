import { endpointUrl } from "../client/endpoint-url.js";
import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import { getText } from "../net/get-text.js";
import { proxyFor, readProxyEnv, redactProxy } from "../net/proxy-env.js";
import { proxyAuthRefusal } from "../net/proxy-errors.js";
import { sleep } from "../util/sleep.js";

/**
 * Set-up check before any row is sent: GET <base>/models until it answers (up to `waitSeconds`;
 * a server still loading its weights refuses connections), then check the model is served
 * and that `tokensToGenerate` (max_tokens) leaves room for a prompt in its max_model_len.
 */
export async function waitForServer(opts: {
  baseUrl: string;
  model: string;
  apiKey?: string;
  waitSeconds: number;
  signal?: AbortSignal;
  /** ++inference.tokens_to_generate (null: the server takes what the context leaves). */
  tokensToGenerate?: number | null;
}): Promise<{ maxModelLen?: number }> {
  const deadline = Date.now() + opts.waitSeconds * 1000;
  const headers: Record<string, string> = {};
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let lastError = "";
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      const res = await getText(endpointUrl(opts.baseUrl, "models").href, {
        headers,
        signal: opts.signal,
        timeoutMs: 10_000,
      });
      const text = res.text;
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new UsageError(
          `the server at ${opts.baseUrl} refused our key (HTTP ${res.statusCode}): set --api_key or OPENAI_API_KEY`,
        );
      }
      if (res.statusCode === 200) {
        const data = (JSON.parse(text) as { data?: Array<{ id: string; max_model_len?: number }> }).data ?? [];
        const m = data.find((d) => d.id === opts.model);
        if (data.length > 0 && !m) {
          throw new UsageError(
            `the server at ${opts.baseUrl} does not serve model "${opts.model}"; it serves: ${data.map((d) => d.id).join(", ")}`,
          );
        }
        checkTokensToGenerate(opts, m?.max_model_len);
        return { maxModelLen: m?.max_model_len };
      }
      // Some OpenAI-compatible servers have no /models: then only reachability matters.
      if (res.statusCode === 404) return {};
      lastError = `HTTP ${res.statusCode}`;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      if (opts.signal?.aborted) throw e;
      const refusal = proxyAuthRefusal(e);
      const proxy = refusal && proxyFor(endpointUrl(opts.baseUrl, "models"), readProxyEnv());
      if (refusal && proxy) {
        throw new UsageError(
          `the proxy ${redactProxy(proxy)} refused us (${refusal}) on the way to ${opts.baseUrl}: ` +
            "check the user and password in HTTP_PROXY, HTTPS_PROXY or ALL_PROXY, or list the host in NO_PROXY",
        );
      }
      lastError = (e as { code?: string }).code ?? (e as Error).message;
    }
    if (Date.now() + delay > deadline) break;
    await sleep(delay, opts.signal);
  }
  throw new VlmError(
    ErrorCodes.CONNECTION,
    `cannot reach the server at ${opts.baseUrl} (${lastError}) after ${opts.waitSeconds}s: is it running? ` +
      "Check --server_address, or wait longer with ++server.wait_timeout=SECONDS",
  );
}

/**
 * Every request asks for max_tokens = ++inference.tokens_to_generate, and vLLM refuses one
 * whose prompt + max_tokens exceed max_model_len (HTTP 400). At max_model_len or above no
 * prompt fits: every row would fail, so the run is refused before the first (exit 2).
 */
function checkTokensToGenerate(
  opts: { baseUrl: string; model: string; tokensToGenerate?: number | null },
  max?: number,
) {
  const t = opts.tokensToGenerate;
  if (t === undefined || t === null || max === undefined || t < max) return;
  throw new UsageError(
    `++inference.tokens_to_generate=${t} leaves no room for a prompt: the model "${opts.model}" at ${opts.baseUrl} ` +
      `has a maximum context length (max_model_len) of ${max} tokens, prompt and completion together. ` +
      `Lower ++inference.tokens_to_generate below ${max} by at least the longest prompt's tokens, ` +
      "or serve the model with a longer --max-model-len",
  );
}
