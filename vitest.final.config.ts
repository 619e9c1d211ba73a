import { defineConfig } from 'vitest/config'

// The second test step (scripts/test.sh): checks over what the whole suite left in .test-artifacts/. No global setup:
// the main run's setup clears that directory, and this run must read it as the main run left it.
export default defineConfig({
  test: {
    include: ['test/final/**/*.test.ts'],
    testTimeout: 60_000,
  },
})
