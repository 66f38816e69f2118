import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { PreflightError } from '../errors.js';
import { assertSeccompSupported } from './seccomp-filter.js';

/** Absolute paths of the host tools the bubblewrap backend runs. */
export interface HostTools {
  bwrap: string;
  /** Runs the launch script (rlimits, fd hygiene, cgroup join). */
  bash: string;
  /** Drops root to the sandbox uid before bwrap; null when the server is not root. */
  setpriv: string | null;
  /** Mounts the size-capped tmpfs workspaces; null when the server is not root. */
  mount: string | null;
  /** Enters a rootless sandbox's workspace namespace before bwrap; null when the server is root. */
  nsenter: string | null;
  /** Debian's Python, which runs the workspace holder of rootless sandboxes. */
  python: string;
}

const SEARCH_DIRECTORIES = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

async function findExecutable(name: string, explicitPath?: string): Promise<string | null> {
  for (const candidate of explicitPath
    ? [explicitPath]
    : SEARCH_DIRECTORIES.map((directory) => `${directory}/${name}`)) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Try the next one.
    }
  }
  return null;
}

/** Checks the operating system, the CPU architecture and the tools; returns where the tools are. */
export async function findHostTools(options: { bwrapPath?: string; isRoot: boolean }): Promise<HostTools> {
  if (process.platform !== 'linux') {
    throw new PreflightError(
      'platform',
      `The bubblewrap backend needs Linux (this is ${process.platform}): bubblewrap, seccomp and cgroups ` +
        'are Linux kernel features. Use HopX cloud (set HOPX_API_KEY), or run the local server inside a ' +
        'Linux VM or container (docs/getting-started.md, "macOS and Windows"). The \'none\' backend runs ' +
        'code without any isolation, for development with trusted code only.',
    );
  }
  assertSeccompSupported();
  const bwrap = await findExecutable('bwrap', options.bwrapPath);
  if (!bwrap) {
    throw new PreflightError(
      'bwrap',
      `bubblewrap (bwrap) was not found${options.bwrapPath ? ` at ${options.bwrapPath}` : ' in /usr/bin or /bin'}. ` +
        'Install it with `apt-get install bubblewrap` (or run `scripts/setup.sh`).',
    );
  }
  const bash = await findExecutable('bash');
  if (!bash)
    throw new PreflightError(
      'bash',
      'bash was not found in /usr/bin or /bin. Install it with `apt-get install bash`.',
    );
  const python = (await findExecutable('python3')) ?? '/usr/bin/python3';
  if (!options.isRoot) {
    const nsenter = await findExecutable('nsenter');
    if (!nsenter) {
      throw new PreflightError(
        'nsenter',
        'nsenter was not found. Without root, every spawn enters its sandbox workspace namespace with it: ' +
          'install util-linux (`apt-get install util-linux`).',
      );
    }
    return { bwrap, bash, setpriv: null, mount: null, nsenter, python };
  }
  const [setpriv, mount] = await Promise.all([findExecutable('setpriv'), findExecutable('mount')]);
  if (!setpriv || !mount) {
    throw new PreflightError(
      'setpriv',
      `${setpriv ? 'mount' : 'setpriv'} was not found. The server runs as root and needs setpriv to drop to an ` +
        'unprivileged uid before bwrap, and mount for size-capped workspaces. Install util-linux and mount ' +
        '(`apt-get install util-linux mount`).',
    );
  }
  return { bwrap, bash, setpriv, mount, nsenter: null, python };
}

/** Runs a command to completion; resolves with its exit code and stderr. */
export function runToCompletion(
  command: string,
  args: string[],
  options: { stdio?: (number | 'ignore' | 'pipe')[] } = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: {},
      cwd: '/',
      stdio: options.stdio ?? ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

/** Turns a failed trial bwrap run into an error that names the likely fix. */
export function userNamespaceError(stderr: string): PreflightError {
  return new PreflightError(
    'userns',
    `bwrap could not create an unprivileged sandbox: ${stderr || 'no error output'}. ` +
      'Unprivileged user namespaces must be enabled: `sysctl -w kernel.unprivileged_userns_clone=1` (Debian), ' +
      '`sysctl -w user.max_user_namespaces=15000`, and on Ubuntu 24.04+ ' +
      '`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`. In a container, run it with ' +
      '`--security-opt seccomp=unconfined` or use a VM.',
  );
}

/** How a server may run without limits, for the errors that refuse to. */
const ALLOW_UNLIMITED =
  '`--allow-unlimited` to hopgen-sandbox (or `allowUnlimited: true` to startLocalSandboxServer, or ' +
  '`HOPGEN_ALLOW_UNLIMITED_SANDBOXES=1`) runs sandboxes without memory, process, CPU and disk limits ' +
  '(development with trusted code only).';

/**
 * The error for a host where limits cannot be enforced, unless the operator opts out of them.
 * `delegation` is the command that delegates cgroups to a server without root: its fix, where
 * running as root is not.
 */
export function limitsUnavailableError(reason: string, delegation?: string): PreflightError {
  if (delegation) {
    return new PreflightError(
      'cgroups',
      `Sandbox limits cannot be enforced: ${reason}. ${delegation} Then start the server again. Or: ${ALLOW_UNLIMITED}`,
    );
  }
  return new PreflightError(
    'cgroups',
    `Sandbox limits cannot be enforced: ${reason}. Or run the server as root (it drops every sandbox to an ` +
      'unprivileged uid itself) on a host whose cgroups are writable: v1 memory, pids and cpu, or v2 with ' +
      'those controllers available to the server (in a container: a writable cgroup mount). Or: ' +
      ALLOW_UNLIMITED,
  );
}

/**
 * The banner printed when sandboxes run without limits; `delegation` as in
 * {@link limitsUnavailableError}.
 */
export function unlimitedWarning(reason: string, delegation?: string): string {
  const fix = delegation
    ? `!! For memory/pids/cpu/disk limits: ${delegation}\n`
    : '!! For memory/pids/cpu/disk limits, run the server as root on a host with writable cgroups.\n';
  return (
    '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
    `!! @hopgen/local-sandbox: sandboxes run WITHOUT resource limits (${reason}).\n` +
    '!! Namespaces and seccomp still isolate them, but a fork bomb, a memory bomb or a full\n' +
    '!! workspace hits the whole host.\n' +
    fix +
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  );
}
