import { type ChildProcess, spawn } from 'node:child_process';

/** A live sandbox that must not outlive this process, with what a bare `DELETE` needs. */
export interface LiveSandbox {
  sandboxId: string;
  baseURL: string;
  apiKey: string;
}

// Longest the reaper waits for one DELETE once this process is gone.
const REAPER_DELETE_DEADLINE_MS = 5_000;

// The reaper is a small Node process in a session of its own (so a Ctrl-C sent to the terminal's
// process group does not reach it). It learns the live sandboxes on stdin, one JSON line each, and
// when stdin closes (this process exited, crashed, was killed by any signal) it deletes what is left.
// Sandboxes travel on stdin, never on the command line: they carry the API key.
const REAPER_SCRIPT = `
const live = new Map();
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\\n')) !== -1) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    try {
      const message = JSON.parse(line);
      if (message.add) live.set(message.add.sandboxId, message.add);
      if (message.remove) live.delete(message.remove);
    } catch {}
  }
});
process.stdin.on('close', () => {
  Promise.allSettled([...live.values()].map((target) => fetch(
    new URL('/v1/sandboxes/' + encodeURIComponent(target.sandboxId), target.baseURL),
    { method: 'DELETE', headers: { 'X-API-Key': target.apiKey }, signal: AbortSignal.timeout(${REAPER_DELETE_DEADLINE_MS}) },
  ))).then(() => process.exit(0));
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
`;

let reaper: ChildProcess | undefined;

function startReaper(): ChildProcess {
  const child = spawn(process.execPath, ['-e', REAPER_SCRIPT], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    // Not the user's NODE_OPTIONS (a loader such as tsx would slow the reaper's start for nothing).
    env: {},
  });
  // Neither the reaper nor its pipe may keep this process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.stdin?.on('error', () => {});
  child.on('exit', () => {
    if (reaper === child) reaper = undefined;
  });
  return child;
}

function send(message: object): void {
  reaper ??= startReaper();
  reaper.stdin?.write(`${JSON.stringify(message)}\n`);
}

/**
 * Registers a sandbox to be deleted if this process ends before it does (a normal exit, an uncaught
 * error, any signal, even SIGKILL). It installs no signal or exit listener, so it never changes how
 * the process reacts to Ctrl-C: a watcher process started with the first sandbox (one per process)
 * deletes what is still registered when this process is gone. Returns the function that unregisters it.
 */
export function trackLiveSandbox(sandbox: LiveSandbox): () => void {
  const { sandboxId, baseURL, apiKey } = sandbox;
  send({ add: { sandboxId, baseURL, apiKey } });
  return () => send({ remove: sandboxId });
}

/** The process id of the watcher process, once a sandbox was registered (the bench leaves it out of its leak check). */
export function reaperProcessId(): number | undefined {
  return reaper?.pid;
}
