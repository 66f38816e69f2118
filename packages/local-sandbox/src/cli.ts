#!/usr/bin/env node
import { parseCommandLine, USAGE } from './cli-options.js';
import { errorMessage } from './errors.js';
import { unmountLazily } from './isolation/sandbox-directories.js';
import { reclaimDeadServers } from './isolation/server-registry.js';
import { runMcpCommand } from './mcp-command.js';
import { startLocalSandboxServer } from './server/server.js';

/** Entry point of the `hopgen-sandbox` command. */
async function main(): Promise<void> {
  if (process.argv[2] === 'mcp') return runMcpCommand(process.argv.slice(3));
  const commandLine = await parseCommandLine(process.argv.slice(2));
  if (commandLine.help) {
    console.log(USAGE);
    return;
  }
  if (commandLine.reclaim) {
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
  const server = await startLocalSandboxServer({
    ...commandLine.options,
    log: (message, kind) => {
      if (kind === 'error' || !commandLine.quiet) console.error(`[hopgen-sandbox] ${message}`);
    },
  });
  console.log(`HOPX_BASE_URL=${server.baseURL}`);
  // A key the user chose is theirs already: it is not written out where logs may keep it.
  if (commandLine.apiKeySource === 'generated') console.log(`HOPX_API_KEY=${server.apiKey}`);
  else
    console.log(
      `HOPX_API_KEY is the key from ${commandLine.apiKeySource === 'file' ? '--api-key-file' : 'HOPGEN_SANDBOX_API_KEY'}`,
    );
  console.error('[hopgen-sandbox] running; press Ctrl+C to stop (every sandbox is destroyed).');
}

main().catch((error: unknown) => {
  console.error(errorMessage(error));
  process.exitCode = 1;
});
