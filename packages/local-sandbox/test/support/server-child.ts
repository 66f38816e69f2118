/**
 * A server in a process of its own, for tests that SIGKILL it: starts a bubblewrap server on the base
 * directory given as the first argument, creates two sandboxes that hold a file each (which also
 * starts the file helper), prints one JSON line `{"pid", "baseURL", "apiKey"}` and waits to be killed.
 */
import { Sandbox } from '@hopx-ai/sdk';
import { startLocalSandboxServer } from '../../src/index.js';

const baseDirectory = process.argv[2];
const server = await startLocalSandboxServer({ isolation: 'bubblewrap', baseDirectory });
const options = { template: 'code-interpreter', apiKey: server.apiKey, baseURL: server.baseURL };
for (const name of ['first', 'second']) {
  const sandbox = await Sandbox.create(options);
  await sandbox.files.write(`/workspace/${name}.txt`, `written in the ${name} sandbox`);
  await sandbox.runCode('print(1)', { language: 'python' });
}
process.stdout.write(
  `${JSON.stringify({ pid: process.pid, baseURL: server.baseURL, apiKey: server.apiKey })}\n`,
);
setInterval(() => undefined, 60_000);
