import { spawnSync } from 'node:child_process';

/** A live sandbox the process must kill on the way out, with what a bare `DELETE` needs. */
export interface LiveSandbox {
  sandboxId: string;
  baseURL: string;
  apiKey: string;
  kill(): Promise<void>;
}

const liveSandboxes = new Set<LiveSandbox>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
// Long enough for a local DELETE, short enough that Ctrl-C still feels immediate.
const SIGNAL_CLEANUP_DEADLINE_MS = 3_000;
const EXIT_CLEANUP_DEADLINE_MS = 3_000;
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  const pending = [...liveSandboxes];
  liveSandboxes.clear();
  uninstall();
  const kills = Promise.allSettled(pending.map((sandbox) => sandbox.kill()));
  const deadline = new Promise((resolve) => setTimeout(resolve, SIGNAL_CLEANUP_DEADLINE_MS).unref());
  void Promise.race([kills, deadline]).then(() => {
    // We replaced Node's default handler; when nobody else listens, behave as the default would.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

// 'exit' handlers cannot wait for promises, so the DELETEs run in a short synchronous child process.
function onExit(): void {
  const pending = [...liveSandboxes];
  liveSandboxes.clear();
  if (pending.length === 0) return;
  const targets = pending.map(({ sandboxId, baseURL, apiKey }) => ({ sandboxId, baseURL, apiKey }));
  const script = `
const targets = JSON.parse(process.env.HOPGEN_SANDBOXES_TO_KILL);
Promise.allSettled(targets.map((t) => fetch(new URL('/v1/sandboxes/' + encodeURIComponent(t.sandboxId), t.baseURL), {
  method: 'DELETE', headers: { 'X-API-Key': t.apiKey }, signal: AbortSignal.timeout(${EXIT_CLEANUP_DEADLINE_MS - 500}),
}))).then(() => process.exit(0));`;
  spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, HOPGEN_SANDBOXES_TO_KILL: JSON.stringify(targets) },
    stdio: 'ignore',
    timeout: EXIT_CLEANUP_DEADLINE_MS,
  });
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/**
 * Registers a sandbox to be killed if the process exits or is interrupted first. One shared set of
 * listeners serves every executor; it is installed with the first live sandbox and removed with the last.
 */
export function trackLiveSandbox(sandbox: LiveSandbox): () => void {
  liveSandboxes.add(sandbox);
  install();
  return () => {
    liveSandboxes.delete(sandbox);
    if (liveSandboxes.size === 0) uninstall();
  };
}

/** How many sandboxes the exit hook would kill right now (for tests and diagnostics). */
export function liveSandboxCount(): number {
  return liveSandboxes.size;
}
