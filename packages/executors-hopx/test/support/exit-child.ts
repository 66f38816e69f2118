// Run by process-exit-cleanup.test.ts in a child process, as a user's program would use the executor.
// Lines on stdout tell the test how far it got: `ready {...}`, `running`, `result {...}`, `cleaning`,
// `finally`. Modes:
// - exit: two executors with live sandboxes, then process.exit(0).
// - idle: two executors with live sandboxes, then waits to be killed (by any signal).
// - abort: `process.once('SIGINT', () => controller.abort())`; a long block runs until Ctrl-C aborts
//   it; `finally` closes the executor. With `slow-cleanup`, `finally` first waits for something that
//   never comes, so a second Ctrl-C lands during clean-up.
import { Sandbox } from '@hopx-ai/sdk';
import { HopXCodeExecutor } from '../../src/index.js';

const mode = process.argv[2];
const apiKey = process.env.CHILD_HOPX_API_KEY as string;
const baseURL = process.env.CHILD_HOPX_BASE_URL as string;
const say = (line: string) => process.stdout.write(`${line}\n`);

if (mode === 'exit' || mode === 'idle') {
  const executors = [new HopXCodeExecutor({ apiKey, baseURL }), new HopXCodeExecutor({ apiKey, baseURL })];
  for (const executor of executors)
    await executor.executeCodeBlocks([{ language: 'bash', code: 'echo ready' }]);
  say(
    `ready ${JSON.stringify({
      sandboxIds: executors.map((executor) => executor.sandboxId),
      signalListeners: process.listenerCount('SIGINT') + process.listenerCount('SIGTERM'),
    })}`,
  );
  if (mode === 'exit') process.exit(0);
  setInterval(() => {}, 1_000);
} else {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const executor = new HopXCodeExecutor({ apiKey, baseURL });
  try {
    await executor.executeCodeBlocks([{ language: 'python', code: 'kept = 1' }]);
    say(`ready ${JSON.stringify({ sandboxIds: [executor.sandboxId] })}`);
    const running = executor.executeCodeBlocks(
      [
        {
          language: 'python',
          code: 'import time\nprint("started", flush=True)\nopen("started", "w").close()\ntime.sleep(60)',
        },
      ],
      { signal: controller.signal },
    );
    // The block got as far as its print: tell the test it can press Ctrl-C.
    const sandbox = await Sandbox.connect(executor.sandboxId as string, apiKey, baseURL);
    while (!(await sandbox.files.exists('/workspace/started')))
      await new Promise((resolve) => setTimeout(resolve, 20));
    say('running');
    say(`result ${JSON.stringify(await running)}`);
  } finally {
    say('cleaning');
    if (process.argv[3] === 'slow-cleanup') await new Promise((resolve) => setTimeout(resolve, 60_000));
    await executor.close();
    say('finally');
  }
}
