import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DangerousCommandError } from '../errors.js';
import { assertDurationMs } from '../timer-limits.js';
import { fileNameFromCode, resolveInside } from './code-file-name.js';
import { dangerousCommandReason } from './dangerous-commands.js';
import { MarkdownCodeExtractor } from './markdown-code-extractor.js';
import { silencePip } from './silence-pip.js';
import type {
  CodeBlock,
  CodeExecutor,
  CodeExtractor,
  CodeResult,
  ExecuteCodeBlocksOptions,
} from './types.js';

/** Options of {@link LocalCommandLineCodeExecutor}. */
export interface LocalCommandLineCodeExecutorOptions {
  /** Directory where code files are written and run; created if missing. @default process.cwd() */
  workDir?: string;
  /** Time one block may run, in **milliseconds**; then its whole process group is killed. @default 60_000 */
  timeoutMs?: number;
  /** Environment of the code. @default process.env (the code sees every variable, API keys included) */
  env?: NodeJS.ProcessEnv;
  /** Python interpreter. @default 'python3' */
  pythonCommand?: string;
}

interface Runner {
  command: string;
  extension: string;
}

// AutoGen's text: every block is a new process, so there is nothing to restart.
const LOCAL_RESTART_WARNING =
  'Restarting local command line code executor is not supported. No action is taken.';

/**
 * Runs code blocks as processes on this machine, with NO isolation: the code can read and change
 * anything the current user can, including files and environment variables such as API keys.
 * Use it only for code you trust; use `HopXCodeExecutor` (`@hopgen/executors-hopx`) with HopX or
 * the local sandbox server for model-written code. Like AutoGen, it refuses shell blocks with
 * `rm -rf`, `mv … /dev/null`, `dd`, writes to `/dev/sdX` or a fork bomb (`DangerousCommandError`).
 */
export class LocalCommandLineCodeExecutor implements CodeExecutor {
  readonly codeExtractor: CodeExtractor = new MarkdownCodeExtractor();
  /** Directory where code files are written and run. */
  readonly workDir: string;
  /** Time one block may run, in milliseconds. */
  readonly timeoutMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #runners: Record<string, Runner>;

  constructor(options: LocalCommandLineCodeExecutorOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    assertDurationMs('timeoutMs', this.timeoutMs);
    this.workDir = resolve(options.workDir ?? process.cwd());
    this.#env = options.env ?? process.env;
    const python: Runner = { command: options.pythonCommand ?? 'python3', extension: 'py' };
    const shell: Runner = { command: 'bash', extension: 'sh' };
    const node: Runner = { command: process.execPath, extension: 'js' };
    this.#runners = {
      python,
      py: python,
      python3: python,
      bash: shell,
      sh: { command: 'sh', extension: 'sh' },
      shell,
      javascript: node,
      js: node,
      node,
    };
  }

  async executeCodeBlocks(
    codeBlocks: CodeBlock[],
    options: ExecuteCodeBlocksOptions = {},
  ): Promise<CodeResult> {
    // Checked for every block before any runs, so a refused call leaves no half-done work behind.
    for (const block of codeBlocks) {
      const reason = dangerousCommandReason(block.language, block.code);
      if (reason !== undefined) throw new DangerousCommandError(reason);
    }
    await mkdir(this.workDir, { recursive: true });
    let output = '';
    let codeFile: string | undefined;
    for (const block of codeBlocks) {
      if (options.signal?.aborted) return { ...abortedResult(output), codeFile };
      const language = block.language.toLowerCase();
      const runner = this.#runners[language];
      if (!runner) {
        return { exitCode: 1, output: `${output}\nunknown language ${language}`, codeFile };
      }
      const code = silencePip(block.code, language);
      const requested = fileNameFromCode(code);
      let path: string;
      if (requested) {
        const inside = resolveInside(this.workDir, requested);
        if (!inside) return { exitCode: 1, output: 'Filename is not in the workspace', codeFile };
        path = inside;
      } else {
        const hash = createHash('md5').update(code).digest('hex');
        path = resolve(this.workDir, `tmp_code_${hash}.${runner.extension}`);
      }
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, code);
      codeFile ??= path;
      const result = await this.#run(runner.command, path, options.signal, options.onOutput);
      output += result.output;
      if (result.exitCode !== 0) return { exitCode: result.exitCode, output, codeFile };
    }
    return { exitCode: 0, output, codeFile };
  }

  #run(
    command: string,
    file: string,
    signal: AbortSignal | undefined,
    onOutput: ExecuteCodeBlocksOptions['onOutput'],
  ): Promise<{ exitCode: number; output: string }> {
    return new Promise((resolvePromise) => {
      // A process group of its own, so a timeout can kill everything the code started.
      const child = spawn(command, [file], {
        cwd: this.workDir,
        env: this.#env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      // AutoGen's layout: stderr, then stdout (a traceback comes before what the block printed).
      const output = () => `${stderr}${stdout}`;
      let timedOut = false;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        onOutput?.({ stream: 'stdout', text: chunk });
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        onOutput?.({ stream: 'stderr', text: chunk });
      });
      const killGroup = () => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      let aborted = false;
      const abortGroup = () => {
        aborted = true;
        killGroup();
      };
      const timer = setTimeout(killGroup, this.timeoutMs);
      signal?.addEventListener('abort', abortGroup, { once: true });
      child.on('error', (error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abortGroup);
        resolvePromise({ exitCode: 1, output: `${output()}${error.message}` });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abortGroup);
        if (aborted) {
          resolvePromise(abortedResult(output()));
          return;
        }
        if (timedOut) {
          resolvePromise({ exitCode: 124, output: `${output()}\nTimeout` });
          return;
        }
        // Kill leftovers of a block that exited but left children behind.
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // No process left in the group.
        }
        resolvePromise({ exitCode: code ?? 1, output: output() });
      });
    });
  }

  /** Warns as AutoGen does and does nothing: every block is already a new process. */
  async restart(): Promise<void> {
    process.emitWarning(LOCAL_RESTART_WARNING, { type: 'HopgenWarning' });
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}

/** An aborted run: exit code 130 (128 + SIGINT, as a shell reports Ctrl-C), what it printed, then `Aborted`. */
function abortedResult(output: string): { exitCode: number; output: string } {
  const printed = output.replace(/\n$/, '');
  return { exitCode: 130, output: printed.length > 0 ? `${printed}\nAborted` : 'Aborted' };
}
