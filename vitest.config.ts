import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `pnpm test` never depends on a stale build.
    // Exact matches (a bare string key would also catch `@hopgen/agents/testing` as a prefix).
    alias: [
      { find: /^@hopgen\/agents$/, replacement: source('./packages/agents/src/index.ts') },
      { find: /^@hopgen\/agents\/internal$/, replacement: source('./packages/agents/src/internal.ts') },
      { find: /^@hopgen\/agents\/testing$/, replacement: source('./packages/agents/src/testing.ts') },
      { find: /^@hopgen\/ai-sdk$/, replacement: source('./packages/ai-sdk/src/index.ts') },
      { find: /^@hopgen\/executors-hopx$/, replacement: source('./packages/executors-hopx/src/index.ts') },
      { find: /^@hopgen\/local-sandbox$/, replacement: source('./packages/local-sandbox/src/index.ts') },
      { find: /^@hopgen\/mcp$/, replacement: source('./packages/mcp/src/index.ts') },
      { find: /^@hopgen\/postgres$/, replacement: source('./packages/postgres/src/index.ts') },
      { find: /^@hopgen\/postgres\/internal$/, replacement: source('./packages/postgres/src/internal.ts') },
      { find: /^@hopgen\/worker\/cli$/, replacement: source('./packages/worker/src/cli.ts') },
      { find: /^@hopgen\/worker$/, replacement: source('./packages/worker/src/index.ts') },
      { find: /^@hopgen\/server\/cli$/, replacement: source('./packages/server/src/cli.ts') },
      { find: /^@hopgen\/server\/run-view$/, replacement: source('./packages/server/page/run-view.js') },
      { find: /^@hopgen\/server\/run-state$/, replacement: source('./packages/server/page/run-state.js') },
      { find: /^@hopgen\/server$/, replacement: source('./packages/server/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
