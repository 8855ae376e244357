import { UsageError } from "../errors.js";

/**
 * `--server_args "--max-model-len 128000 --limit-mm-per-prompt '{\"image\": 8}'"` and wrapped
 * executables (`apptainer exec --nv vllm.sif vllm`) are shell words: split them the way
 * sh does (single quotes literal, double quotes with backslash escapes, backslash outside
 * quotes), without expanding anything.
 */
export function splitShellWords(s: string, what = "arguments"): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === "\\" && i + 1 < s.length && '"\\$`'.includes(s[i + 1] as string)) cur += s[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unbalanced ${quote} quote in ${what}: ${s}`);
  if (inWord) words.push(cur);
  return words;
}

/** One word for sh: left bare when it is plainly safe, otherwise single-quoted. */
export function quoteShellWord(word: string): string {
  if (word !== "" && /^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function quoteShell(words: readonly string[]): string {
  return words.map(quoteShellWord).join(" ");
}

/** Values of flags that carry secrets, hidden before a command line reaches a log or a script. */
const SECRET_FLAGS = new Set(["--api-key", "--api_key", "--hf-token", "--hf_token", "--token"]);

/**
 * `words` (a server's flags) split into the secret flags with their values (`--api-key K`,
 * `--api-key=K`), kept in order, and the rest; `flags` names the secret flags found. Secrets
 * travel to a job through its environment, never on a command line a script or `ps` shows.
 */
export function splitSecrets(words: readonly string[]): { open: string[]; secret: string[]; flags: string[] } {
  const open: string[] = [];
  const secret: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    const eq = w.indexOf("=");
    if (eq > 0 && SECRET_FLAGS.has(w.slice(0, eq))) {
      secret.push(w);
      flags.push(w.slice(0, eq));
    } else if (SECRET_FLAGS.has(w) && i + 1 < words.length) {
      secret.push(w, words[++i] as string);
      flags.push(w);
    } else open.push(w);
  }
  return { open, secret, flags };
}

export function redactSecrets(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    const eq = w.indexOf("=");
    if (eq > 0 && SECRET_FLAGS.has(w.slice(0, eq))) {
      out.push(`${w.slice(0, eq)}=***`);
    } else if (SECRET_FLAGS.has(w) && i + 1 < words.length) {
      out.push(w, "***");
      i++;
    } else {
      out.push(w);
    }
  }
  return out;
}
