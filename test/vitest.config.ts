import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // cfn-lint and the CLI run as real processes.
    testTimeout: 120_000,
    reporters: ['default'],
  },
});
