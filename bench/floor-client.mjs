// The floor for section 1b: a hand-written client doing only what a row needs, in one loop,
// no framework. It reads the rows, builds each request's JSON around its image's cached literal
// (the prompt text as in the template body: the row's `problem` between the same prefix and
// suffix), sends it on one of `connections` keep-alive sockets (one corked write a request),
// parses the answer with http-parser-js and its JSON, and writes `{...row, generation,
// num_generated_tokens, finish_reason}` lines in batches. No resume, digests, checks, retries,
// timeouts or progress: what any client must do for a row and nothing else, so the section can
// show how close to autocannon doing a row's work can get on this machine.
//
//   node bench/floor-client.mjs URL BODIES.ndjson INPUT.jsonl OUTPUT.jsonl CONNECTIONS
// (URL without /v1; BODIES' first line is the template: the first row's request as vlmpipe builds it)
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import httpParserJs from "http-parser-js";

const { HTTPParser } = httpParserJs;
const [url, bodiesFile, input, output, connections = "64"] = process.argv.slice(2);
const origin = new URL(url);
const lines = fs.readFileSync(input, "utf8").split("\n").filter(Boolean);

// The template: where the image literal and the row's text go.
const template = JSON.parse(fs.readFileSync(bodiesFile, "utf8").split("\n")[0]);
const content = template.messages.at(-1).content;
const textPart = content.find((p) => p.type === "text");
const imagePart = content.find((p) => p.type === "image_url");
const first = JSON.parse(lines[0]);
const at = textPart.text.indexOf(first.problem);
if (at < 0) throw new Error("the template's text does not hold the first row's problem");
const [before, after] = [textPart.text.slice(0, at), textPart.text.slice(at + first.problem.length)];
const mime = imagePart.image_url.url.slice(0, imagePart.image_url.url.indexOf(",") + 1);
imagePart.image_url.url = "\u0000";
const MARK = '"\\u0000"';

const literals = new Map();
function literal(file) {
  let b = literals.get(file);
  if (!b) {
    const bytes = fs.readFileSync(path.resolve(path.dirname(input), file));
    b = Buffer.from(JSON.stringify(mime + bytes.toString("base64")), "latin1");
    literals.set(file, b);
  }
  return b;
}

const fd = fs.openSync(output, "w");
let pending = [];
let timer = null;
const flush = () => {
  timer = null;
  const s = pending.join("");
  pending = [];
  fs.write(fd, s, () => {});
};

let next = 0;
let done = 0;
function connect() {
  const socket = net.connect({ host: origin.hostname, port: Number(origin.port), noDelay: true });
  const parser = new HTTPParser(HTTPParser.RESPONSE);
  let body = [];
  let row = null;
  parser[HTTPParser.kOnHeadersComplete] = () => {};
  parser[HTTPParser.kOnBody] = (b, start, len) => body.push(b.toString("utf8", start, start + len));
  parser[HTTPParser.kOnMessageComplete] = () => {
    const answer = JSON.parse(body.join(""));
    body = [];
    const choice = answer.choices[0];
    pending.push(
      `${JSON.stringify({ ...row, generation: choice.message.content, num_generated_tokens: answer.usage.completion_tokens, finish_reason: choice.finish_reason })}\n`,
    );
    timer ??= setTimeout(flush, 2);
    if (++done === lines.length) {
      clearTimeout(timer);
      flush();
      fs.fsyncSync(fd);
      process.exit(0);
    }
    send();
  };
  socket.on("data", (d) => parser.execute(d));
  socket.on("error", (e) => {
    throw e;
  });
  function send() {
    if (next >= lines.length) return;
    row = JSON.parse(lines[next++]);
    textPart.text = before + row.problem + after;
    const text = JSON.stringify(template);
    const mark = text.indexOf(MARK);
    const head = text.slice(0, mark);
    const tail = text.slice(mark + MARK.length);
    const image = literal(row.image_path);
    const length = Buffer.byteLength(head) + image.length + Buffer.byteLength(tail);
    socket.cork();
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: ${origin.host}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n${head}`,
    );
    socket.write(image);
    socket.write(tail);
    socket.uncork();
  }
  socket.on("connect", send);
}
for (let i = 0; i < Number(connections); i++) connect();
