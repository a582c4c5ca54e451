import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

export default defineConfig({
  resolve: {
    alias: {
      'kiln/runtime': fileURLToPath(new URL('./src/runtime/index.ts', import.meta.url)),
      kiln: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Every core, not vitest's cores − 1: a cold run is lavapipe's single-threaded shader compiles, and on CI's 2 cores the default ran files one at a time.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
