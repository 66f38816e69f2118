// Run by process-exit-cleanup.test.ts in a child process: creates two executors with live
// sandboxes, reports them, then leaves by process.exit() or waits to be killed by a signal.
import { HopXCodeExecutor } from '../../src/index.js';

const mode = process.argv[2];
const options = { apiKey: process.env.CHILD_HOPX_API_KEY, baseURL: process.env.CHILD_HOPX_BASE_URL };
const executors = [new HopXCodeExecutor(options), new HopXCodeExecutor(options)];
for (const executor of executors)
  await executor.executeCodeBlocks([{ language: 'bash', code: 'echo ready' }]);
const report = {
  sandboxIds: executors.map((executor) => executor.sandboxId),
  signalListeners: process.listenerCount('SIGTERM'),
  exitListeners: process.listenerCount('exit'),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
if (mode === 'exit') process.exit(0);
setInterval(() => {}, 1_000);
