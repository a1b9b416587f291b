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
  },
});
