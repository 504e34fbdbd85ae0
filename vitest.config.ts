import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Two cores: more workers only add contention for native inference.
    maxWorkers: 2,
  },
});
