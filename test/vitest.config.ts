import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // cfn-lint and the CLI run as real processes.
    testTimeout: 120_000,
    // Hooks start real processes too (Chromium, moto's server). A loaded CI
    // machine took more than vitest's default 10 s to launch Chromium the
    // first time, which failed the browser test's beforeAll.
    hookTimeout: 120_000,
    reporters: ['default'],
    // vitest runs one file at a time fewer than the cores (one on a 2-core machine). The files spend most of their
    // time waiting on the processes they start (moto's server, cfn-lint, checkov, Chromium, the CLI), so one file
    // more than the cores: on the 2-core machine the clean-clone CI took 7.7 min instead of 10.8 (bench/RESULTS.md).
    // At most 8: each rollout file starts its own moto server.
    maxWorkers: Math.min(availableParallelism() + 1, 8),
  },
});
