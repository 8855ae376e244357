import { filter, type MonoTypeOperatorFunction } from "rxjs";
import type { Sample } from "../types.js";
import type { Flow } from "./flow.js";

/**
 * Resume: drops samples whose index is already done. A run (runGenerate) gives the same set
 * to readRows' `skip` instead, so skipped rows never take a flow permit; when used in a hand-built chain
 * with a Flow, pass it here so a dropped row gives its permit back.
 */
export function skipDone(done: ReadonlySet<number>, flow?: Flow): MonoTypeOperatorFunction<Sample> {
  return filter((s) => {
    if (!done.has(s.index)) return true;
    flow?.release();
    return false;
  });
}
