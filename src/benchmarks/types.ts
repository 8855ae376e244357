import type { InferenceConfig } from "../config/generation-config.js";
import type { EvalType } from "./eval-types.js";
import type { HubSourceOptions } from "./shared/hub-prepare.js";

/**
 * A benchmark as `eval` runs it (NeMo-Skills' dataset/<name>/__init__.py): where its prepared
 * data lives, its default prompt and eval type, metric grouping and defaults.
 */
export type Benchmark = {
  name: string;
  /** Folder under --data_dir written by prepare_data. */
  dataFolder: string;
  /** The split file inside it. */
  split: string;
  promptConfig: string;
  evalType: EvalType;
  /** How `prepare_data` makes it: benchmark and config. */
  prepare: { benchmark: string; config: string };
  /** Inference defaults for this benchmark (the user's ++ overrides win). */
  inference?: Partial<InferenceConfig>;
  /**
   * Groups of subsets reported besides each subset (MMMU's disciplines): a row of subset S also
   * counts in `<benchmark>-<group>` for each group returned.
   */
  metricGroups?: (subset: string) => readonly string[];
};

/** What `prepare_data <name>` does: the hub repo it reads and the configs it knows. */
export type Preparer = {
  name: string;
  /** --config choices; the first is the default. */
  configs: readonly [string, ...string[]];
  /** --repo default. */
  repo: string;
  /** One line for --help: what each config writes. */
  describe: string;
  prepare(options: HubSourceOptions & { config: string }): Promise<unknown>;
};
