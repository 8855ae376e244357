import type { GenerationConfig } from "../config/generation-config.js";
import { UsageError } from "../errors.js";
import type { StageContext } from "./stages.js";

/**
 * A context for chains that call no model and read no images (`vlmpipe score`): the run's
 * settings only. A stage that needs a server or images is refused when the chain is built.
 */
export function offlineContext(config: GenerationConfig): StageContext {
  const missing = (what: string) => (): never => {
    throw new UsageError(`this chain calls no model and reads no images: a stage needs the ${what}`);
  };
  return {
    config,
    prompts: new Map(),
    model: "",
    concurrency: () => 1,
    inFlight: { active: 0, pending: 0 },
    baseDir: process.cwd(),
    afterGenerate: (source) => source,
    clientFor: missing("client"),
    get client() {
      return missing("client")();
    },
    get image() {
      return missing("image options")();
    },
    get imageCache() {
      return missing("image cache")();
    },
  };
}
