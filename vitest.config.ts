import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          testTimeout: 30_000,
          globalSetup: ["test/setup/postgres.ts"],
        },
      },
      {
        // The console's component tests (web/): React in jsdom.
        esbuild: { jsx: "automatic" },
        test: {
          name: "web",
          include: ["web/src/**/*.test.{ts,tsx}"],
          environment: "jsdom",
          setupFiles: ["web/src/test-setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          globalSetup: ["test/setup/postgres.ts"],
        },
      },
    ],
  },
});
