import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `pnpm test` never depends on a stale build.
    alias: {
      '@hopgen/agents': source('./packages/agents/src/index.ts'),
      '@hopgen/ai-sdk': source('./packages/ai-sdk/src/index.ts'),
      '@hopgen/executors-hopx': source('./packages/executors-hopx/src/index.ts'),
      '@hopgen/local-sandbox': source('./packages/local-sandbox/src/index.ts'),
      '@hopgen/mcp': source('./packages/mcp/src/index.ts'),
      '@hopgen/postgres': source('./packages/postgres/src/index.ts'),
      '@hopgen/worker/cli': source('./packages/worker/src/cli.ts'),
      '@hopgen/worker': source('./packages/worker/src/index.ts'),
      '@hopgen/server/cli': source('./packages/server/src/cli.ts'),
      '@hopgen/server/run-view': source('./packages/server/page/run-view.js'),
      '@hopgen/server': source('./packages/server/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
