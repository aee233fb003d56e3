import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // Pure functions: no cluster, no database, milliseconds each.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        // Against a real control plane (the local kwok cluster unless KUBECONFIG names another) and real servers.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Two cores: test files share one control plane, so run them one at a time.
          fileParallelism: false,
        },
      },
      {
        // The runner against a real PostgreSQL (started by the global setup) and loopback cart and warehouse servers.
        test: {
          name: 'runner',
          include: ['test/runner/**/*.test.ts'],
          globalSetup: ['test/runner/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
