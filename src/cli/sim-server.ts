/**
 * `vlmpipe sim-server`: the vLLM simulator on a port, until SIGTERM/SIGINT.
 * Every flag is an option of the simulator's zod schema, spelled snake_case (kebab-case
 * accepted); the schema holds the defaults and its messages name the flag.
 * It writes one line to stderr when listening and nothing to stdout.
 */
import { type Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { type SimServerOptionsInput, SimServerOptionsSchema } from "../server/sim/options.js";
import { type SimServer, startSimServer } from "../server/sim/sim-server.js";

/** [value placeholder, description] per flag; "" = a boolean switch. */
const HELP: Record<string, [string, string]> = {
  host: ["host", "interface to listen on"],
  port: ["port", "port to listen on (0 = a free port)"],
  model: ["name", "served model name; requests for another model get vLLM's 404"],
  max_model_len: ["tokens", "context length in tokens (prompt estimate: chars/4 + 256 per image)"],
  limit_mm_per_prompt: ["n", "most images accepted in one prompt"],
  answers: ["file", "JSONL answer book: rows with problem and/or id, expected_answer, options"],
  accuracy: ["0..1", "probability (0..1) that a recognised question gets its expected answer"],
  judge_accuracy: [
    "0..1",
    "probability (0..1) that a judge request (its last user message asks for a Judgement: Yes/No line) gets the right verdict",
  ],
  seed: ["n", "seed of every deterministic draw (answers and faults)"],
  latency_ms: ["ms", "delay before answering; spread over the chunks of a stream"],
  reasoning: ["mode", "none | field (message.reasoning, as with a reasoning parser) | think (<think> in content)"],
  reasoning_field: ["name", "reasoning | reasoning_content | both: field name(s) for reasoning text"],
  error_format: ["format", 'nested ({"error": {...}}, new vLLM) | flat ({"object": "error", ...}, older vLLM)'],
  record_requests: ["", "keep parsed request bodies in memory (in-process use)"],
  max_in_flight: ["n", "requests accepted at once; past it 503 (like vLLM's --max-num-queued-reqs); 0 = no limit"],
  fail_rate: ["0..1", "fraction (0..1) of chat requests answered with --fail_status"],
  fail_status: ["status", "HTTP status of injected failures"],
  retry_after: ["seconds", "seconds for a Retry-After header on injected failures"],
  fail_first: ["n", "the first N chat requests fail with --fail_status"],
  drop_rate: ["0..1", "fraction of chat requests whose socket is destroyed without an answer"],
  drop_mid_stream_rate: ["0..1", "fraction of streams cut (socket destroyed) after a few chunks"],
  stall_ms: ["ms", "how long a stalled stream sends nothing after its first chunk"],
  stall_rate: ["0..1", "fraction of streams that stall for --stall_ms"],
  malformed_rate: ["0..1", "fraction of answers with a body (or one SSE line) that is not JSON"],
  stream_error_rate: ["0..1", 'fraction of streams that send a few chunks, then data: {"error": ...}'],
  drop_at_token: ["n", "streams hit by --drop_mid_stream_rate are cut after n tokens (0: after the first chunks)"],
  answer_tokens: ["n", "long answers: n tokens of answer (and of thinking), one token a chunk (0: short answers)"],
  token_delay_ms: ["ms", "delay before each chunk of a stream (a model's decoding pace)"],
  reject_continuation: ["", "answer continue_final_message requests with 400"],
};

type Kind = "number" | "boolean" | "string";

/** The base type of a schema field, under its default/optional wrappers. */
function kindOf(key: string): Kind {
  let t = (SimServerOptionsSchema.shape as Record<string, unknown>)[key] as {
    def: { type: string; innerType?: unknown };
  };
  while ((t.def.type === "default" || t.def.type === "optional") && t.def.innerType) {
    t = t.def.innerType as typeof t;
  }
  return t.def.type === "number" ? "number" : t.def.type === "boolean" ? "boolean" : "string";
}

const FLAG_KEYS = Object.keys(HELP);
const flag = (key: string) => `--${key}`;
const kebab = (key: string) => key.replaceAll("_", "-");
const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Commander's parsed flags -> raw simulator options (numbers converted, kebab merged). */
export function simServerOptionsFromFlags(flags: Record<string, unknown>): SimServerOptionsInput {
  const raw: Record<string, unknown> = {};
  for (const key of FLAG_KEYS) {
    const v = flags[key] ?? flags[camel(key)];
    if (v === undefined) continue;
    if (kindOf(key) === "number" && typeof v === "string") {
      const n = v.trim() === "" ? Number.NaN : Number(v);
      if (Number.isNaN(n)) throw new UsageError(`sim-server: ${flag(key)}: expected a number, got "${v}"`);
      raw[key] = n;
    } else {
      raw[key] = v;
    }
  }
  return raw as SimServerOptionsInput;
}

/**
 * Runs the simulator until `signal` aborts or the process gets SIGTERM/SIGINT; resolves
 * once it is closed. `log` receives the listening line (stderr by default).
 */
export async function runSimServer(
  input: SimServerOptionsInput,
  io: { signal?: AbortSignal; log?: (line: string) => void; onListening?: (s: SimServer) => void } = {},
): Promise<void> {
  const server = await startSimServer(input, flag);
  const log = io.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  log(`sim-server: listening on ${server.url}/v1 (model ${server.model})`);
  io.onListening?.(server);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      io.signal?.removeEventListener("abort", stop);
      void server.close().then(resolve);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener("abort", stop, { once: true });
  });
}

export function registerSimServer(program: Command): void {
  const defaults = SimServerOptionsSchema.parse({}) as Record<string, unknown>;
  const cmd = program
    .command("sim-server")
    .description(
      "simulate a vLLM OpenAI-compatible server (request checks, answer formats, known accuracy, injected faults) for tests, demos and dry runs",
    );
  for (const key of FLAG_KEYS) {
    const [placeholder, text] = HELP[key]!;
    const value = kindOf(key) === "boolean" ? "" : ` <${placeholder}>`;
    const def = defaults[key];
    const help = def === undefined ? text : `${text} (default: ${JSON.stringify(def)})`;
    cmd.addOption(new Option(`${flag(key)}${value}`, help));
    if (key.includes("_")) cmd.addOption(new Option(`--${kebab(key)}${value}`).hideHelp());
  }
  cmd.action(async (flags: Record<string, unknown>) => {
    await runSimServer(simServerOptionsFromFlags(flags));
  });
}
