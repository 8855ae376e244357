import { chmod, readFile } from "node:fs/promises";
import path from "node:path";
import { repoRoot } from "./bin.js";

/** The stand-in `vllm` executable (runs `vlmpipe sim-server` with vLLM's command line). */
export const fakeVllm = path.join(repoRoot, "test", "helpers", "fake-vllm", "vllm");
export const fakeVllmDir = path.dirname(fakeVllm);

/** Version control may lose the executable bit: tests put it back before use. */
export async function ensureFakeVllmExecutable(): Promise<void> {
  await chmod(fakeVllm, 0o755);
}

/** The fake's recorded starts (FAKE_VLLM_ARGS_FILE): argv, pid and VLLM_API_KEY of each. */
export async function fakeStarts(file: string): Promise<{ argv: string[]; pid: number; vllm_api_key?: string }[]> {
  try {
    return (await readFile(file, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { argv: string[]; pid: number; vllm_api_key?: string });
  } catch {
    return [];
  }
}

/** Whether any process of the group led by `pgid` is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `needle` (Linux /proc), for "nothing left running" checks. */
export async function processesMatching(needle: string): Promise<number[]> {
  const { readdir } = await import("node:fs/promises");
  const pids: number[] = [];
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = (await readFile(`/proc/${d}/cmdline`, "utf8")).replaceAll("\0", " ");
      const stat = await readFile(`/proc/${d}/stat`, "utf8");
      // Zombies (state Z) are dead; only their parent's wait is missing.
      if (cmd.includes(needle) && !/^\d+ \(.*\) Z/.test(stat)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
