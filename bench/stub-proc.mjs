// A zero-latency OpenAI-compatible stub in its own process, for bench/image-rows.mjs: raw TCP,
// HTTP/1.1 keep-alive, it skips each request's body by its Content-Length (no parsing, no
// copies) and answers one fixed plain-JSON chat completion, so what is measured is the clients.
// GET requests (vlmpipe's /v1/models check) get a model list naming `sim`.
//
//   fork("bench/stub-proc.mjs") -> message {url}; SIGTERM or disconnect stops it.
import net from "node:net";

const json = (o) => Buffer.from(JSON.stringify(o));
const response = (body) =>
  Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`),
    body,
  ]);
const answer = response(
  json({
    id: "chatcmpl-stub",
    object: "chat.completion",
    created: 0,
    model: "sim",
    choices: [{ index: 0, message: { role: "assistant", content: "Answer: B" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
  }),
);
const models = response(json({ object: "list", data: [{ id: "sim", object: "model", max_model_len: 32768 }] }));
const HEAD_END = Buffer.from("\r\n\r\n");

// When a pass's chat answers go out (ms since the epoch): the first, the tenth of `expect`,
// the last; the parent sends {expect: n} before a pass and {marks: true} after it.
let expect = 0;
let answered = 0;
let marks = {};
process.on("message", (m) => {
  if (m.expect) {
    expect = m.expect;
    answered = 0;
    marks = {};
  } else if (m.marks) process.send?.({ marks });
});
function reply(socket, isGet) {
  if (isGet) {
    socket.write(models);
    return;
  }
  answered++;
  if (answered === 1) marks.first = Date.now();
  if (answered === Math.ceil(expect / 10)) marks.tenth = Date.now();
  if (answered === expect) marks.last = Date.now();
  socket.write(answer);
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let head = Buffer.alloc(0); // the head read so far (bodies are skipped, never kept)
  let skip = 0; // body bytes still to skip
  let isGet = false;
  socket.on("data", (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        if (skip === 0) reply(socket, isGet);
        continue;
      }
      head = head.length ? Buffer.concat([head, chunk.subarray(at)]) : chunk.subarray(at);
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        head = Buffer.from(head); // keep a copy: the chunk is not ours past this call
        return;
      }
      const text = head.toString("latin1", 0, end);
      const consumed = end + 4 - (head.length - (chunk.length - at));
      at += consumed;
      head = Buffer.alloc(0);
      isGet = text.startsWith("GET ");
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      skip = m ? Number(m[1]) : 0;
      if (skip === 0) reply(socket, isGet);
    }
  });
  socket.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => process.send?.({ url: `http://127.0.0.1:${server.address().port}` }));
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("disconnect", stop);
