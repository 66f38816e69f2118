import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { IsolatedSandbox, SandboxSpawnOptions } from '../../src/isolation/types.js';

/** How one sandboxed process ended and what it printed. */
export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in the sandbox to completion; SIGKILLs it after `timeoutMs`. */
export function runInSandbox(
  sandbox: IsolatedSandbox,
  command: string,
  args: string[],
  options: SandboxSpawnOptions & { timeoutMs?: number; input?: string } = {},
): Promise<ProcessResult> {
  const { timeoutMs = 30_000, input, ...spawnOptions } = options;
  const child = sandbox.spawn(command, args, spawnOptions);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin?.end(input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
  });
}

/** Runs Debian's Python (not a pyenv shim) with `code` in the sandbox. */
export function runPython(
  sandbox: IsolatedSandbox,
  code: string,
  options: SandboxSpawnOptions & { timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return runInSandbox(sandbox, '/usr/bin/python3', ['-c', code], options);
}

// The kernel's PF_EXITING task flag: set as a process starts exiting, before it becomes a zombie.
const PF_EXITING = 0x4;
// SIGKILL (9) in a pending-signal mask of /proc/<pid>/status: the process dies as soon as it runs.
const SIGKILL_BIT = 1n << 8n;

/** Whether a SIGKILL is pending for the process (or its thread group), from its status text. */
function killPending(status: string): boolean {
  return [/^SigPnd:\s+([0-9a-f]+)/m, /^ShdPnd:\s+([0-9a-f]+)/m].some((pattern) => {
    const mask = pattern.exec(status)?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & SIGKILL_BIT) !== 0n;
  });
}

/** Live host processes whose real uid is `uid`, each with whether it is exiting or about to (SIGKILL pending). */
async function hostProcessesOwnedBy(uid: number): Promise<{ pid: number; exiting: boolean }[]> {
  const processes: { pid: number; exiting: boolean }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const match = /^Uid:\s+(\d+)/m.exec(status);
    const dead = /^State:\s+[ZX]/m.test(status);
    if (!match || Number(match[1]) !== uid || dead) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name may hold spaces and parentheses: fields restart after the last ')'; flags is the 9th.
    const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6] ?? 0);
    processes.push({ pid: Number(entry), exiting: (flags & PF_EXITING) !== 0 || killPending(status) });
  }
  return processes;
}

/**
 * Live host pids whose real uid is `uid`, read from /proc (the host's view, not the sandbox's), once
 * none of them is in the middle of exiting. A sandbox's pid-1 bwrap tells the host-side bwrap its
 * command's exit status before it exits itself (killing and reaping what is left in its pid
 * namespace; or its --die-with-parent SIGKILL is still pending), so right after a spawn's `exit` event
 * it can still be there, exiting: it is waited for, not reported (a process still exiting after 5 s is). Zombies are left out: they are dead and only
 * wait for the host's init to reap them.
 */
export async function hostPidsOwnedBy(uid: number): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    const processes = await hostProcessesOwnedBy(uid);
    if (attempt >= 250 || !processes.some((candidate) => candidate.exiting))
      return processes.map((candidate) => candidate.pid);
    await delay(20);
  }
}

/** Host pids whose command line contains `needle`. */
export async function hostPidsWithCommandLine(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.split('\0').join(' ').includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

/** Every live host pid. */
export async function hostPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
}
