import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package's root folder (holding prompts/, pipelines/, fixtures/), from src/ or dist/. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
