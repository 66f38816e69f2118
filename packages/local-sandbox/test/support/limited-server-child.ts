/**
 * A server in a process of its own, started by file-descriptor-limit.test.ts under a low open-files
 * limit (`ulimit -n`): serves on 127.0.0.1 with no warm pool, prints one JSON line
 * `{"baseURL", "apiKey"}` and runs until SIGINT.
 */
import { startLocalSandboxServer } from '../../src/index.js';

const server = await startLocalSandboxServer({
  isolation: 'bubblewrap',
  poolSize: 0,
  host: '127.0.0.1',
  port: 0,
});
process.stdout.write(`${JSON.stringify({ baseURL: server.baseURL, apiKey: server.apiKey })}\n`);
setInterval(() => undefined, 60_000);
