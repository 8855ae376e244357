/**
 * Loading images the way vLLM's media connector does, minus the network: data: URLs must
 * decode to a real image, http(s) only reaches this machine, file:// needs a flag we never
 * have. Benchmarks send the same image many times (seeds, retries, 512 concurrent requests),
 * so outcomes are cached by a cheap key of the URL and concurrent checks share one promise.
 */
import sharp from "sharp";
import { errorMessage } from "../../errors.js";
import { loadUndici } from "../../net/undici.js";
import { SimRequestError } from "./error-body.js";
import { sampledKey } from "./hash.js";

const CACHE_MAX = 4096;
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const DATA_IMAGE = /^data:image\/[\w.+-]+;base64,/i;

export type ImageChecker = {
  /** Resolves when the image loads; rejects with a SimRequestError (400) when vLLM would. */
  check(url: string): Promise<void>;
};

async function decodable(buf: Buffer): Promise<string | undefined> {
  try {
    const meta = await sharp(buf).metadata();
    if (!meta.width || !meta.height) return "image has no size";
    return undefined;
  } catch (e) {
    return errorMessage(e);
  }
}

async function checkDataUrl(url: string): Promise<string | undefined> {
  const m = DATA_IMAGE.exec(url);
  if (!m) {
    return "Failed to load image: a data URL must look like data:image/<type>;base64,<data>";
  }
  const buf = Buffer.from(url.slice(m[0].length), "base64");
  // vLLM hands the bytes to PIL; this is PIL's wording for bytes that are no image.
  if (buf.length === 0 || (await decodable(buf)) !== undefined) {
    return "Failed to load image: cannot identify image file <_io.BytesIO object>";
  }
  return undefined;
}

async function checkLocalHttp(url: string): Promise<string | undefined> {
  try {
    const { request } = await loadUndici();
    const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    const buf = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) return `Failed to fetch image from ${url}: HTTP ${res.statusCode}`;
    if ((await decodable(buf)) !== undefined) {
      return `Failed to load image from ${url}: cannot identify image file`;
    }
    return undefined;
  } catch (e) {
    return `Failed to fetch image from ${url}: ${errorMessage(e)}`;
  }
}

export function createImageChecker(): ImageChecker {
  const cache = new Map<string, Promise<string | undefined>>();

  function cached(key: string, load: () => Promise<string | undefined>) {
    let p = cache.get(key);
    if (p === undefined) {
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
      p = load();
      cache.set(key, p);
    }
    return p;
  }

  return {
    async check(url) {
      let problem: string | undefined;
      if (url.startsWith("data:")) {
        problem = await cached(sampledKey(url), () => checkDataUrl(url));
      } else if (url.startsWith("file:")) {
        problem = "Cannot load local files without `--allowed-local-media-path`.";
      } else if (/^https?:\/\//i.test(url)) {
        let host = "";
        try {
          host = new URL(url).hostname;
        } catch {
          problem = `Invalid image URL: ${url.slice(0, 200)}`;
        }
        if (problem === undefined) {
          // Not cached: a local test server may change what it serves between requests.
          problem = LOCAL_HOSTS.has(host)
            ? await checkLocalHttp(url)
            : `The simulator cannot fetch ${host}: it has no network access (use a data: URL or a 127.0.0.1 URL).`;
        }
      } else {
        problem = "The URL must be either a HTTP, data or file URL.";
      }
      if (problem !== undefined) throw new SimRequestError(400, problem);
    },
  };
}
