import { readFileSync } from 'node:fs'
import { configDefaults, defineConfig } from 'vitest/config'

// @actions/workflow-parser (the workflow and action.yml validation in test/unit/workflows.test.ts) imports its JSON
// schemas without an import attribute, which Node refuses and only a bundler accepts: Vite transforms it instead
// (server.deps.inline). Its published source maps name sources it does not ship; loading its files without the map
// comment keeps Vite from warning about each of them.
const WORKFLOW_PARSER = '/@actions/workflow-parser/dist/'

export default defineConfig({
  plugins: [
    {
      name: 'workflow-parser-without-source-maps',
      load(id) {
        const file = id.split('?')[0]!
        if (!file.includes(WORKFLOW_PARSER) || !file.endsWith('.js')) return undefined
        return readFileSync(file, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '')
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    // test/final reads what the whole suite left behind: scripts/test.sh runs it afterwards (vitest.final.config.ts).
    exclude: [...configDefaults.exclude, 'test/final/**'],
    globalSetup: ['test/support/global-setup.ts'],
    // Integration tests start real registries and sshd on loopback; keep the two cores busy but not swamped.
    maxWorkers: 2,
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
