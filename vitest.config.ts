import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machines: two test files at once keeps loopback servers responsive.
    maxWorkers: 2,
    // In CI a JSON report lets .ci/run print vitest's own counts.
    reporters: process.env.VLMPIPE_TEST_REPORT
      ? ["default", ["json", { outputFile: process.env.VLMPIPE_TEST_REPORT }]]
      : ["default"],
  },
});
