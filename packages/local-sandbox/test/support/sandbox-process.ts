import { readdir, readFile } from 'node:fs/promises';
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

/**
 * Live host pids whose real uid is `uid`, read from /proc (the host's view, not the sandbox's).
 * Zombies are left out: they are dead and only wait for the host's init to reap them (a sandbox's
 * pid-1 bwrap is re-parented there when its host-side bwrap dies first).
 */
export async function hostPidsOwnedBy(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const match = /^Uid:\s+(\d+)/m.exec(status);
    const dead = /^State:\s+[ZX]/m.test(status);
    if (match && Number(match[1]) === uid && !dead) pids.push(Number(entry));
  }
  return pids;
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
