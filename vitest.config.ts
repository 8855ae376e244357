import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machines: two test files at once keeps loopback servers responsive.
    maxWorkers: 2,
    // The CLIs that tests spawn keep their compile cache in the checkout, not the user's home.
    env: { VLMPIPE_COMPILE_CACHE_DIR: path.resolve("node_modules", ".cache", "vlmpipe-compile-cache") },
    // In CI a JSON report lets .ci/run print vitest's own counts.
    reporters: process.env.VLMPIPE_TEST_REPORT
      ? ["default", ["json", { outputFile: process.env.VLMPIPE_TEST_REPORT }]]
      : ["default"],
    // `npm run coverage`: reported, not gated. Only code run inside vitest's workers counts; the
    // built CLI that tests spawn runs dist/, which is not measured.
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "html"],
    },
  },
});
