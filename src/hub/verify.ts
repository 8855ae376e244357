/**
 * Checks a downloaded file against what the tree API said about it. Hashing re-reads the
 * file once at the end rather than hashing while downloading: a resumed download spans
 * processes, and the file on disk is the only state that survives a kill.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { HubFile } from "./list-files.js";

export type Verdict = { ok: true; checked: "sha256" | "git-oid" | "size" } | { ok: false; reason: string };

export async function verifyFile(path: string, file: HubFile, size: number): Promise<Verdict> {
  if (size !== file.size) return { ok: false, reason: `size ${size} != ${file.size}` };
  if (file.sha256) {
    const got = await hashFile(path, "sha256");
    return got === file.sha256
      ? { ok: true, checked: "sha256" }
      : { ok: false, reason: `sha256 ${got} != ${file.sha256}` };
  }
  if (file.gitOid) {
    const got = await hashFile(path, "sha1", `blob ${size}\0`);
    return got === file.gitOid
      ? { ok: true, checked: "git-oid" }
      : { ok: false, reason: `git oid ${got} != ${file.gitOid}` };
  }
  return { ok: true, checked: "size" };
}

export async function hashFile(path: string, algorithm: "sha256" | "sha1", prefix?: string): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
