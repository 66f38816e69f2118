import { spawn } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';

/** Debian's interpreter: the pyenv shim on PATH adds ~70 ms per start and would distort every baseline. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Runs a command to completion; rejects unless it exits 0 and printed `expectedStdout`. */
export function runProcess(command: string, args: string[], expectedStdout: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0 && stdout === expectedStdout) resolve();
      else reject(new Error(`${command} exited ${code}: stdout ${JSON.stringify(stdout)} stderr ${stderr}`));
    });
  });
}

/**
 * The floor under any bubblewrap sandbox: the namespaces and mounts every local sandbox gets (new
 * user, pid, net, ipc, uts, mount and cgroup namespaces; read-only /usr; private /proc, /dev, /tmp)
 * without the server's extras (seccomp filter, cgroup limits, uid drop, workspace, process server).
 */
export function bareBubblewrapArguments(command: string, args: string[]): string[] {
  const mounts = ['--ro-bind', '/usr', '/usr'];
  for (const name of ['bin', 'sbin', 'lib', 'lib64']) {
    const hostPath = `/${name}`;
    try {
      const entry = lstatSync(hostPath);
      if (entry.isSymbolicLink()) mounts.push('--symlink', readlinkSync(hostPath), hostPath);
      else mounts.push('--ro-bind', hostPath, hostPath);
    } catch {
      // Not on this host.
    }
  }
  return [
    '--unshare-all',
    '--unshare-user',
    '--die-with-parent',
    '--new-session',
    ...mounts,
    '--ro-bind-try',
    '/etc/ld.so.cache',
    '/etc/ld.so.cache',
    '--ro-bind-try',
    '/etc/alternatives',
    '/etc/alternatives',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    '--',
    command,
    ...args,
  ];
}
