#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { unmountLazily } from './isolation/sandbox-directories.js';
import { reclaimDeadServers } from './isolation/server-registry.js';
import { runMcpCommand } from './mcp-command.js';
import { startLocalSandboxServer } from './server/server.js';

const USAGE = `Usage: hopgen-sandbox [--host 127.0.0.1] [--port 7070] [--api-key KEY] [--pool-size N] [--isolation bubblewrap|none] [--allow-unlimited]
       hopgen-sandbox --reclaim

Runs a local HopX-compatible sandbox server. Point @hopx-ai/sdk at it with
  Sandbox.create({ template: 'code-interpreter', baseURL, apiKey })
--reclaim removes what servers of this user that are no longer running left behind (cgroups,
mounts, sandbox folders, uid leases) without starting a server. Live servers are never touched.

hopgen-sandbox mcp --help: the sandbox as an MCP server (stdio or streamable HTTP).`;

/** Entry point of the `hopgen-sandbox` command. */
async function main(): Promise<void> {
  if (process.argv[2] === 'mcp') return runMcpCommand(process.argv.slice(3));
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string' },
      'pool-size': { type: 'string' },
      isolation: { type: 'string' },
      'allow-unlimited': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      reclaim: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.reclaim) {
    const report = await reclaimDeadServers({
      unmount:
        process.getuid?.() === 0 ? (mountPoint) => unmountLazily('/usr/bin/mount', mountPoint) : undefined,
    });
    console.log(
      `Reclaimed ${report.servers.length} dead server(s): ${report.resources.length} folder(s) and cgroup(s), ${report.uidLeases} uid lease(s).`,
    );
    for (const resource of report.resources) console.log(`  ${resource.kind} ${resource.path}`);
    return;
  }
  const port = values.port === undefined ? 7070 : Number(values.port);
  const poolSize = values['pool-size'] === undefined ? 0 : Number(values['pool-size']);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`Invalid --port ${values.port}.\n${USAGE}`);
  if (!Number.isInteger(poolSize) || poolSize < 0)
    throw new Error(`Invalid --pool-size ${values['pool-size']}.\n${USAGE}`);
  const isolation = values.isolation ?? 'bubblewrap';
  if (isolation !== 'bubblewrap' && isolation !== 'none') {
    throw new Error(`Invalid --isolation ${isolation}: use bubblewrap or none.\n${USAGE}`);
  }
  const server = await startLocalSandboxServer({
    port,
    poolSize,
    isolation,
    ...(values['allow-unlimited'] ? { allowUnlimited: true } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values['api-key'] !== undefined ? { apiKey: values['api-key'] } : {}),
    log: (message) => console.error(`[hopgen-sandbox] ${message}`),
  });
  console.log(`HOPX_BASE_URL=${server.baseURL}`);
  console.log(`HOPX_API_KEY=${server.apiKey}`);
  console.error('[hopgen-sandbox] running; press Ctrl+C to stop (every sandbox is destroyed).');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
