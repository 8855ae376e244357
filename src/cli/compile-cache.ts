import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";

/**
 * Loads the CLI's CommonJS bundle (dist/cli/vlmpipe.cjs) through `vm.Script` with a V8 code
 * cache: the bytecode of the functions a command ran, kept from its first run that went through.
 *
 * Why: Node 20 keeps no compile cache (Node 22's `module.enableCompileCache` does this), and
 * compiling the bundle's code took ~50 ms of each start (`generate --help` 288 -> 241 ms,
 * docs/performance.md). The cache is an optimisation only: any problem with it (no home
 * folder, a read-only one, a file V8 rejects) means the bundle compiles as it would without.
 *
 * One file per command (`generate`, `eval`, ...), as each runs different code; its name holds
 * a hash of the bundle's bytes (V8 itself checks only the source's length, so an edited bundle
 * of the same length would otherwise run stale bytecode) and of node's flags, V8's version and
 * the architecture.
 */

/** How the bundle was compiled: no cache wanted, none found, used, or rejected by V8. */
export type CacheStatus = "off" | "none" | "used" | "rejected";

export type LoadedBundle<T> = {
  exports: T;
  status: CacheStatus;
  /** Writes the cache when none was used; call once the command went through. Never throws. */
  saveIfMissed(): void;
};

/** Files of other bundles (older versions) untouched this long are deleted when one is written. */
const STALE_MS = 30 * 24 * 3600 * 1000;

/**
 * Where the caches go: $VLMPIPE_COMPILE_CACHE_DIR, else $XDG_CACHE_HOME/vlmpipe/compile-cache
 * (~/.cache by default); undefined (no cache) with VLMPIPE_COMPILE_CACHE=0 or no home folder.
 * A folder of the user's own, never a shared one such as /tmp: cached bytecode runs as code.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.VLMPIPE_COMPILE_CACHE === "0") return undefined;
  if (env.VLMPIPE_COMPILE_CACHE_DIR) return env.VLMPIPE_COMPILE_CACHE_DIR;
  let base = env.XDG_CACHE_HOME;
  if (!base || !path.isAbsolute(base)) {
    const home = os.homedir();
    if (!home) return undefined;
    base = path.join(home, ".cache");
  }
  return path.join(base, "vlmpipe", "compile-cache");
}

/**
 * The cache's key for a command line: its command's name, or "main" (no command, options
 * first); "-help" added when it asks for help, which runs none of the command's own code (a
 * cache written by `generate --help` would leave a run's functions out of generate's).
 */
export function commandKey(args: readonly string[]): string {
  const c = args[0];
  const name = c !== undefined && /^[a-z][a-z0-9_-]{0,39}$/.test(c) ? c : "main";
  return args.some((a) => a === "--help" || a === "-h") ? `${name}-help` : name;
}

/**
 * The cache file's name for a bundle's bytes and a command, under this process's node flags:
 * V8 rejects a cache made under other flags (`--max-old-space-size` is one), so runs with and
 * without them would otherwise keep rewriting one file.
 */
export function cacheFileName(bundle: Buffer, command: string): string {
  const flags = JSON.stringify([process.execArgv, process.env.NODE_OPTIONS ?? ""]);
  const id = createHash("sha256").update(bundle).update(flags).digest("hex").slice(0, 16);
  return `${command}.${id}.v8-${process.versions.v8}.${process.arch}.bin`;
}

/**
 * Runs a CommonJS bundle as Node's own loader would (the same wrapper and arguments), with
 * the code cache of `command` from `cacheDir` when there is one V8 accepts; undefined when
 * there is no such bundle.
 */
export function loadBundle<T>(
  file: string,
  cacheDir: string | undefined,
  command: string,
): LoadedBundle<T> | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  // The build makes the bundle ASCII (a one-byte string for V8); a hand-edited one may not be.
  const source = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
  const cacheFile = cacheDir === undefined ? undefined : path.join(cacheDir, cacheFileName(bytes, command));
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // None yet (or unreadable): compiled as without a cache, written after the run.
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n});`, {
    filename: file,
    cachedData,
  });
  const status: CacheStatus =
    cacheFile === undefined
      ? "off"
      : cachedData === undefined
        ? "none"
        : script.cachedDataRejected
          ? "rejected"
          : "used";
  const module = { exports: {} as T };
  const wrapper = script.runInThisContext() as (...a: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  let saved = false;
  return {
    exports: module.exports,
    status,
    saveIfMissed() {
      if (saved || !cacheFile || status === "used") return;
      saved = true;
      writeCache(cacheFile, command, script);
    },
  };
}

function writeCache(cacheFile: string, command: string, script: vm.Script): void {
  const dir = path.dirname(cacheFile);
  const tmp = `${cacheFile}.tmp-${process.pid}`;
  try {
    // After the run: the functions it compiled lazily are in the cache too.
    const data = script.createCachedData();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, data, { mode: 0o600 });
    // Atomic: processes starting at once (seeds, chunks) read a whole file or none.
    renameSync(tmp, cacheFile);
    pruneStale(dir, command, path.basename(cacheFile));
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Nothing more to do: the cache is an optimisation.
    }
  }
}

/**
 * Deletes the command's other files untouched for 30 days: caches of other bundles (older
 * versions) and what a process killed while writing left.
 */
function pruneStale(dir: string, command: string, keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (name === keep || !name.startsWith(`${command}.`)) continue;
    const file = path.join(dir, name);
    if (now - statSync(file).mtimeMs > STALE_MS) rmSync(file, { force: true });
  }
}
