import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/final reads what the whole suite left behind: scripts/test.sh runs it afterwards (vitest.final.config.ts).
    exclude: [...configDefaults.exclude, 'test/final/**'],
    globalSetup: ['test/support/global-setup.ts'],
    // Integration tests start real registries and sshd on loopback; keep the two cores busy but not swamped.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
