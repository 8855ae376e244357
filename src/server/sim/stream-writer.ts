/**
 * Sending a stream's events, and bending them for the stream faults: cut after a few
 * chunks, an error event inside the 200, a line that is not JSON, a stall, a latency.
 */
import type { ServerResponse } from "node:http";
import { type ErrorFormat, streamErrorJson } from "./error-body.js";
import type { AnswerFaults } from "./faults.js";
import type { Sleeper } from "./http-io.js";
import type { AnswerMeta } from "./respond.js";
import { DONE_EVENT, malformedEvent } from "./sse.js";

/** Chunks sent before a mid-stream drop or error: the role chunk and one content chunk. */
const CHUNKS_BEFORE_FAULT = 2;

/** `dropAt` > 0: a dropped stream is cut after the role chunk and that many token chunks. */
export function faultyEvents(
  events: string[],
  meta: AnswerMeta,
  af: AnswerFaults,
  format: ErrorFormat,
  dropAt = 0,
): string[] {
  if (af.dropMidStream) return events.slice(0, dropAt > 0 ? 1 + dropAt : CHUNKS_BEFORE_FAULT);
  if (af.streamError) {
    // As vLLM: the error as a data event, then [DONE] all the same.
    const err = streamErrorJson(format, "Simulated engine error (stream_error_rate)", 500);
    return [...events.slice(0, CHUNKS_BEFORE_FAULT), `data: ${err}\n\n`, DONE_EVENT];
  }
  if (af.malformed) return [events[0]!, malformedEvent(meta), ...events.slice(1)];
  return events;
}

export type StreamPlan = {
  /** Spread over the events. */
  latencyMs: number;
  /** Delay before each event after the first (a decoding model's pace). */
  eventDelayMs?: number;
  /** Silence after the first event (0 = none). */
  stallMs: number;
  /** Destroy the socket after the last event instead of ending the response. */
  destroyAfter: boolean;
  sleeper: Sleeper;
  isClosing: () => boolean;
  /** Called after each event is written, with its index (live counters). */
  onEvent?: (i: number) => void;
};

/** Returns how many events were written (a client that goes away stops it early). */
export async function writeStream(res: ServerResponse, events: string[], plan: StreamPlan): Promise<number> {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  // Destroy only once the data is flushed, so the client sees the chunks before the cut.
  const finish = () => (plan.destroyAfter ? res.socket?.destroy() : res.end());
  // Fast path: the whole stream in one write; a client still parses it event by event.
  const perEvent = plan.eventDelayMs ?? 0;
  if (plan.latencyMs === 0 && plan.stallMs === 0 && perEvent === 0) {
    if (plan.destroyAfter) res.write(events.join(""), finish);
    else res.end(events.join(""));
    if (plan.onEvent) for (let i = 0; i < events.length; i++) plan.onEvent(i);
    return events.length;
  }
  // Each event waits its share of the latency, so the first token is late too.
  const delay = plan.latencyMs / events.length;
  const gone = () => plan.isClosing() || res.destroyed;
  for (let i = 0; i < events.length; i++) {
    const wait = i === 1 && plan.stallMs > 0 ? plan.stallMs : delay + (i > 0 ? perEvent : 0);
    if (wait > 0) await plan.sleeper.sleep(wait);
    if (gone()) return i;
    res.write(events[i]!);
    plan.onEvent?.(i);
  }
  res.write("", finish);
  return events.length;
}
