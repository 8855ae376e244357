/**
 * Where the hub is and who we are to it, read from the environment the way the HF tools
 * (huggingface_hub, huggingface.js) read it: `HF_ENDPOINT` for the base URL, `HF_TOKEN` for
 * the access token. The token only ever travels in an Authorization header: never in a
 * message, a log line or an error.
 */
import { UsageError } from "../errors.js";

export const DEFAULT_HUB_URL = "https://huggingface.co";

export type HubConfig = {
  /** Base URL of the hub, without a trailing slash. */
  hubUrl: string;
  /** Sent as `Authorization: Bearer ...` to the hub's own origin only. */
  accessToken?: string;
};

export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const hubUrl = normalizeHubUrl(env.HF_ENDPOINT?.trim() || DEFAULT_HUB_URL);
  // HUGGING_FACE_HUB_TOKEN is the older name huggingface_hub still honours. As there
  // (utils/_auth.py, _get_token_from_environment): an empty HF_TOKEN counts as unset, and the
  // token is cleaned of line breaks and surrounding blanks.
  const token = (env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN)?.replace(/[\r\n]/g, "").trim();
  return token ? { hubUrl, accessToken: checkToken(token) } : { hubUrl };
}

export function normalizeHubUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`HF_ENDPOINT is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`HF_ENDPOINT must be an http(s) URL, got ${parsed.protocol}`);
  }
  return url.replace(/\/+$/, "");
}

/**
 * @huggingface/hub refuses tokens that do not start with `hf_` (a TypeError deep in a call);
 * check it up front with a message that says what to change and does not echo the token.
 */
function checkToken(token: string): string {
  if (!token.startsWith("hf_")) {
    throw new UsageError("HF_TOKEN must be a Hugging Face access token (it starts with 'hf_')");
  }
  return token;
}
