import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machine: a few files at once keeps loopback servers responsive.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
