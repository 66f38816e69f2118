import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type CodeBlock,
  CodeExecutionError,
  type CodeExecutor,
  type CodeExtractor,
  type CodeResult,
  type ExecuteCodeBlocksOptions,
  MarkdownCodeExtractor,
} from '@hopgen/agents';
import { errorMessage, silencePip } from '@hopgen/agents/internal';
import {
  APIError,
  AuthenticationError,
  type ExecutionResult,
  HopxError,
  Sandbox,
  SandboxExpiredError,
  ServerError,
} from '@hopx-ai/sdk';
import { EventEmitter } from 'eventemitter3';
import { blockFiles } from './block-files.js';
import { buildInterruptScript } from './block-interrupt.js';
import { type ExecutionDeadlines, executionDeadlines, withDeadline } from './deadline.js';
import {
  ExecutorClosedError,
  HopXExecutorError,
  InvalidExecutorOptionError,
  MissingApiKeyError,
  SandboxAuthenticationError,
  SandboxFileError,
  SandboxServerUnreachableError,
  SandboxUnavailableError,
} from './errors.js';
import type { HopXCodeExecutorEvents } from './events.js';
import {
  buildFreshProcessScript,
  type FreshProcessBlock,
  KILL_GRACE_SECONDS,
} from './fresh-process-script.js';
import { type BlockImage, ImageOutputStore, type SavedImages } from './image-output.js';
import { type LanguageRunner, LanguageTable } from './languages.js';
import type { HopXCodeExecutorOptions } from './options.js';
import { combineStreams, truncateOutput } from './output-format.js';
import { pollBlockOutput } from './output-polling.js';
import { buildPersistentPythonCell, parsePersistentPythonStdout } from './persistent-python.js';
import { trackLiveSandbox } from './process-exit-cleanup.js';
import { assertSafeSandboxId } from './sandbox-id.js';
import { ExecutionTransportError, makeExecutionSingleAttempt } from './single-attempt-execution.js';
import { WorkspaceImageTracker } from './workspace-images.js';

const HOPX_CLOUD_URL = 'https://api.hopx.dev';
/** Printed after the partial output of a block that ran out of time (AutoGen's TIMEOUT_MSG). */
const TIMEOUT_MESSAGE = 'Timeout';
/** One entry of {@link HopXCodeExecutor.listFiles}. */
export interface SandboxFileEntry {
  /** The entry's name, without its directory. */
  name: string;
  /** Its full path in the sandbox. */
  path: string;
  /** Its size in bytes (0 for directories on some servers). */
  sizeBytes: number;
  /** Whether it is a directory. */
  directory: boolean;
}

/** Follows the partial output of a block stopped because the caller aborted. */
const ABORT_MESSAGE = 'Aborted';
/** Exit code of an aborted block (128 + SIGINT, as a shell reports Ctrl-C). */
const ABORT_EXIT_CODE = 130;
// How long an aborted block has to stop and return its output before its sandbox is killed instead.
const ABORT_GRACE_MS = 3_000;
/** Prepended to a block's output when a fresh sandbox had to replace a broken one. */
export const SANDBOX_RESTARTED_NOTICE = '[sandbox restarted: earlier state was lost]';
/**
 * Follows `Timeout` when a stateful Python block outran even the server's backstop (it blocked
 * SIGALRM or swallowed the interrupt): the server killed the interpreter, so its variables are gone
 * (files in the sandbox are kept).
 */
export const INTERPRETER_RESTARTED_NOTICE = '[interpreter restarted: earlier state was lost]';
// The server's own limit is a backstop behind our in-sandbox timeout, so it must fire later.
const SERVER_TIMEOUT_GRACE_SECONDS = KILL_GRACE_SECONDS + 8;

/** One block's outcome, before the blocks of a call are joined. */
interface BlockOutcome {
  exitCode: number;
  output: string;
  outputFiles: string[];
}

type Failure = 'infrastructure' | 'fatal';

/**
 * Runs agents' code blocks in a HopX sandbox (HopX cloud or `@hopgen/local-sandbox`) through the
 * official `@hopx-ai/sdk`. The sandbox is created on first use and reused across blocks and
 * messages; pass it to `new UserProxyAgent({ codeExecutionConfig: { executor } })`.
 */
export class HopXCodeExecutor extends EventEmitter<HopXCodeExecutorEvents> implements CodeExecutor {
  /** The extractor agents use to find code in messages for this executor. */
  readonly codeExtractor: CodeExtractor;
  readonly #template: string;
  readonly #timeoutMs: number;
  readonly #sandboxTtlMs: number;
  readonly #stateful: boolean;
  readonly #apiKey: string;
  readonly #baseURL: string;
  readonly #maxOutputChars: number;
  readonly #maxRetries: number;
  readonly #envVars: Record<string, string>;
  readonly #languages: LanguageTable;
  readonly #images: ImageOutputStore;
  readonly #workspaceImages = new WorkspaceImageTracker();
  readonly #deadlines: ExecutionDeadlines;

  #sandbox: Promise<Sandbox> | undefined;
  /** How many times code was sent to a sandbox: an error before the first of a call ran nothing. */
  #codeSent = 0;
  #currentSandboxId: string | undefined;
  #untrackSandbox: (() => void) | undefined;
  #ttlExtendedAt = 0;
  // The raw body of the last execution call: the SDK's result keeps one `png`, the server may send `pngs`.
  #lastExecutionBody: unknown;
  #closed = false;
  // The sandbox pause() left: the next block connects to it again.
  #pausedSandboxId: string | undefined;
  // Set when the executor itself threw a sandbox away: the next block's output says state was lost.
  #stateLost = false;
  #executionCount = 0;
  // The languages each sandbox's template has (null: it does not say), fetched on first need.
  readonly #templateLanguages = new WeakMap<Sandbox, Promise<Set<string> | null>>();
  // Calls run one at a time: they share one sandbox and its interpreter.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: HopXCodeExecutorOptions = {}) {
    super();
    const apiKey = options.apiKey ?? process.env.HOPX_API_KEY;
    if (apiKey === undefined || apiKey === '') throw new MissingApiKeyError();
    this.#apiKey = apiKey;
    this.#baseURL = options.baseURL ?? process.env.HOPX_BASE_URL ?? HOPX_CLOUD_URL;
    this.#template = options.template ?? 'code-interpreter';
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? 60_000);
    this.#sandboxTtlMs = positive('sandboxTtlMs', options.sandboxTtlMs ?? 300_000);
    this.#maxOutputChars = positive('maxOutputChars', options.maxOutputChars ?? 10_000);
    this.#maxRetries = options.maxRetries ?? 3;
    if (!Number.isInteger(this.#maxRetries) || this.#maxRetries < 0) {
      throw new InvalidExecutorOptionError(
        `maxRetries must be a whole number >= 0, got ${options.maxRetries}.`,
      );
    }
    this.#stateful = options.stateful ?? true;
    this.#deadlines = executionDeadlines({
      timeoutMs: this.#timeoutMs,
      requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs ?? 30_000),
      serverGraceMs: SERVER_TIMEOUT_GRACE_SECONDS * 1000,
    });
    this.#envVars = { ...(options.envVars ?? {}) };
    this.#languages = new LanguageTable(options.languages);
    this.#images = new ImageOutputStore(
      options.outputDir === undefined ? undefined : resolve(options.outputDir),
      {
        maxImages: positive('maxImagesPerBlock', options.maxImagesPerBlock ?? 20),
        maxBytes: positive('maxImageBytesPerBlock', options.maxImageBytesPerBlock ?? 20 * 1024 * 1024),
      },
    );
    this.codeExtractor = options.codeExtractor ?? new MarkdownCodeExtractor();
  }

  /** The id of the current sandbox, or undefined before the first run and after restart/close. */
  get sandboxId(): string | undefined {
    return this.#currentSandboxId;
  }

  /** Runs the blocks in order in the sandbox and stops at the first one that fails. */
  executeCodeBlocks(codeBlocks: CodeBlock[], options: ExecuteCodeBlocksOptions = {}): Promise<CodeResult> {
    return this.#serialize(() => this.#executeCodeBlocks(codeBlocks, options));
  }

  /**
   * Checks, before a chat starts (and before any paid model call), that the sandbox server at
   * `baseURL` answers and accepts the API key. Throws `SandboxServerUnreachableError` (saying what
   * to start) or `SandboxAuthenticationError`; creates no sandbox.
   */
  async check(): Promise<void> {
    this.#assertOpen();
    const requestMs = this.#deadlines.requestMs;
    try {
      await withDeadline(
        Sandbox.list({ apiKey: this.#apiKey, baseURL: this.#baseURL, limit: 1 }),
        requestMs,
        () =>
          new SandboxUnavailableError(
            `The HopX sandbox server at ${this.#baseURL} did not answer within ${requestMs} ms (requestTimeoutMs). ` +
              'Check that it is running and responsive, or raise requestTimeoutMs.',
          ),
      );
    } catch (error) {
      throw toExecutorError(error, `reach the HopX sandbox server at ${this.#baseURL}`, this.#baseURL);
    }
  }

  /** Replaces the sandbox with a fresh one (created on next use): variables and files are lost. */
  restart(): Promise<void> {
    return this.#serialize(async () => {
      this.#assertOpen();
      await this.#discardSandbox('requested');
    });
  }

  /**
   * The sandbox a durable run stores, so a resumed run in another process finds it again. From then
   * on the run owns the sandbox: it is no longer deleted when this process dies (even by SIGKILL),
   * only by `close()` or its TTL (`sandboxTtlMs`).
   */
  durableState(): { sandboxId: string } | undefined {
    if (this.#currentSandboxId === undefined) return undefined;
    this.#untrackSandbox?.();
    this.#untrackSandbox = undefined;
    return { sandboxId: this.#currentSandboxId };
  }

  /**
   * Re-attaches to the sandbox of an earlier process (`Sandbox.connect`, which resumes a paused
   * one). When it is gone, the next block's output starts with the sandbox-restarted notice.
   */
  restoreDurableState(state: unknown): Promise<void> {
    return this.#serialize(async () => {
      this.#assertOpen();
      const sandboxId = (state as { sandboxId?: unknown } | null)?.sandboxId;
      if (typeof sandboxId !== 'string' || sandboxId === this.#currentSandboxId) return;
      await this.#discardSandbox('requested');
      try {
        assertSafeSandboxId(sandboxId, this.#baseURL);
        const sandbox = await withDeadline(
          Sandbox.connect(sandboxId, this.#apiKey, this.#baseURL),
          this.#deadlines.requestMs,
          () => new Error('connect timed out'),
        );
        makeExecutionSingleAttempt(sandbox, (body) => {
          this.#lastExecutionBody = body;
        });
        this.#sandbox = Promise.resolve(sandbox);
        this.#currentSandboxId = sandboxId;
        // Owned by the durable run, like before the restart: not deleted when this process dies.
        this.#ttlExtendedAt = 0;
      } catch {
        this.#stateLost = true;
      }
    });
  }

  /**
   * Pauses the sandbox instead of killing it, and lets it outlive this process (the exit clean-up
   * leaves it), so a durable run resumed later finds its variables and files. The next block in
   * this process resumes it.
   */
  pause(): Promise<void> {
    return this.#serialize(async () => {
      this.#assertOpen();
      const pending = this.#sandbox;
      if (pending === undefined) return;
      const sandbox = await pending;
      await withDeadline(sandbox.pause(), this.#deadlines.requestMs, () => new Error('pause timed out'));
      this.#untrackSandbox?.();
      this.#untrackSandbox = undefined;
      // Forget it here: the next use re-attaches through connect, which resumes it.
      const sandboxId = this.#currentSandboxId;
      this.#sandbox = undefined;
      this.#currentSandboxId = undefined;
      this.#pausedSandboxId = sandboxId;
    });
  }

  /** Kills the sandbox. Safe to call twice; the executor cannot run code afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Waits for a running call, so the sandbox is not killed under it.
    await this.#serialize(async () => {
      await this.#discardSandbox('requested');
      await this.#images.remove();
    });
  }

  /** `await using executor = new HopXCodeExecutor()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Uploads a local file to `remotePath` in the sandbox. */
  uploadFile(localPath: string, remotePath: string): Promise<void> {
    return this.#fileOperation(`upload ${localPath} to ${remotePath}`, (sandbox) =>
      sandbox.files.upload(localPath, remotePath),
    );
  }

  /** Downloads a file from the sandbox as bytes. */
  downloadFile(remotePath: string): Promise<Buffer> {
    return this.#fileOperation(`download ${remotePath}`, (sandbox) => sandbox.files.download(remotePath));
  }

  /** Writes text or bytes to a file in the sandbox, replacing it. */
  writeFile(remotePath: string, content: string | Uint8Array): Promise<void> {
    return this.#fileOperation(`write ${remotePath}`, (sandbox) =>
      typeof content === 'string'
        ? sandbox.files.write(remotePath, content)
        : sandbox.files.writeBytes(remotePath, Buffer.from(content)),
    );
  }

  /** Reads a text file from the sandbox (UTF-8). */
  readFile(remotePath: string): Promise<string> {
    return this.#fileOperation(`read ${remotePath}`, async (sandbox) =>
      (await sandbox.files.download(remotePath)).toString('utf8'),
    );
  }

  /** Lists a directory of the sandbox, one entry per file or directory in it. */
  listFiles(remotePath: string): Promise<SandboxFileEntry[]> {
    return this.#fileOperation(`list ${remotePath}`, async (sandbox) =>
      (await sandbox.files.list(remotePath)).map((file) => ({
        name: file.name,
        path: file.path,
        sizeBytes: file.size,
        directory: file.is_dir,
      })),
    );
  }

  // ---------------------------------------------------------------------------------------------

  async #executeCodeBlocks(codeBlocks: CodeBlock[], options: ExecuteCodeBlocksOptions): Promise<CodeResult> {
    this.#assertOpen();
    const executionId = ++this.#executionCount;
    const sentBefore = this.#codeSent;
    const startedAt = performance.now();
    let sandboxRestarted = false;
    this.emit('execution-started', {
      executionId,
      languages: codeBlocks.map((block) => block.language),
      sandboxId: this.#currentSandboxId,
    });
    try {
      const outputs: string[] = [];
      const outputFiles: string[] = [];
      let exitCode = 0;
      for (const [blockIndex, block] of codeBlocks.entries()) {
        const blockStartedAt = performance.now();
        const outcome = await this.#runBlock(block, options, () => {
          sandboxRestarted = true;
        });
        outputs.push(outcome.output);
        outputFiles.push(...outcome.outputFiles);
        exitCode = outcome.exitCode;
        this.emit('block-finished', {
          executionId,
          blockIndex,
          language: block.language,
          sandboxId: this.#currentSandboxId,
          exitCode: outcome.exitCode,
          output: outcome.output,
          durationMs: performance.now() - blockStartedAt,
        });
        if (exitCode !== 0) break;
      }
      await this.#extendTtl();
      const result: CodeResult = {
        exitCode,
        output: truncateOutput(joinOutputs(outputs), this.#maxOutputChars),
      };
      if (outputFiles.length > 0) result.outputFiles = outputFiles;
      this.emit('execution-finished', {
        executionId,
        exitCode,
        durationMs: performance.now() - startedAt,
        sandboxId: this.#currentSandboxId,
        sandboxRestarted,
      });
      return result;
    } catch (error) {
      // No block's code reached a sandbox (none could be had): a durable run may run them later.
      if (error instanceof CodeExecutionError && this.#codeSent === sentBefore) error.nothingRan = true;
      this.emit('execution-finished', {
        executionId,
        exitCode: undefined,
        durationMs: performance.now() - startedAt,
        sandboxId: this.#currentSandboxId,
        sandboxRestarted,
        error: error as Error,
      });
      throw error;
    }
  }

  async #runBlock(
    block: CodeBlock,
    options: ExecuteCodeBlocksOptions,
    onRestart: () => void,
  ): Promise<BlockOutcome> {
    const signal = options.signal;
    const runtime = this.#languages.resolve(block.language);
    if (runtime === undefined) {
      // AutoGen's text, with its leading newline: the model sees it after the previous block's output.
      return { exitCode: 1, output: `\nunknown language ${block.language}`, outputFiles: [] };
    }
    // As AutoGen: pip is silenced before the block is named, saved and run.
    const source = silencePip(block.code, block.language.trim().toLowerCase());
    const files = blockFiles(source, runtime.fileExtension);
    let code = source;
    if (runtime.prepare !== undefined) {
      const prepared = await runtime.prepare(code);
      if (!prepared.ok) return { exitCode: 1, output: prepared.error, outputFiles: [] };
      code = prepared.code;
    }
    if (signal?.aborted) return abortedOutcome(undefined);

    let restarted = false;
    for (let attempt = 0; ; attempt += 1) {
      let sandbox: Sandbox;
      try {
        sandbox = await this.#ensureSandbox();
      } catch (error) {
        // Not retried here: the SDK already retries sandbox creation (3 attempts).
        throw toExecutorError(error, `create a HopX sandbox at ${this.#baseURL}`, this.#baseURL);
      }
      if (
        runtime.templateLanguage !== undefined &&
        !(await this.#templateHas(sandbox, runtime.templateLanguage))
      )
        return { exitCode: 1, output: `\nunknown language ${block.language}`, outputFiles: [] };
      try {
        // Taken before the run: a replacement during the run (an abort) is for the next block to report.
        const lostBefore = this.#stateLost;
        this.#stateLost = false;
        const attemptMs = this.#deadlines.attemptMs;
        const outcome = await this.#runWithAbort(sandbox, signal, () =>
          withDeadline(
            this.#runInSandbox(sandbox, runtime, { source, code, files }, options),
            attemptMs,
            () =>
              new ExecutionTransportError(
                'connection-lost',
                `the sandbox did not answer within ${attemptMs} ms`,
              ),
          ),
        );
        if (lostBefore && !restarted) onRestart();
        if (restarted || lostBefore) outcome.output = `${SANDBOX_RESTARTED_NOTICE}\n${outcome.output}`;
        return outcome;
      } catch (error) {
        if (classify(error) !== 'infrastructure')
          throw toExecutorError(error, 'run code in the HopX sandbox');
        // The sandbox is broken or gone; whatever ran in it is lost. A retry goes to a fresh one.
        await this.#discardSandbox('lost');
        restarted = true;
        onRestart();
        if (attempt >= this.#maxRetries) {
          throw new SandboxUnavailableError(
            `The HopX sandbox failed ${attempt + 1} times in a row (${errorMessage(error)}). ` +
              `Check that ${this.#baseURL} is reachable and healthy, or raise maxRetries.`,
            { cause: error },
          );
        }
      }
    }
  }

  // An abort cannot cancel the SDK's HTTP call: a second request interrupts the block in the sandbox,
  // so the call returns what the block printed. A block that does not stop in time (it ignores the
  // signal, or the sandbox no longer answers) costs the sandbox instead, and its output.
  async #runWithAbort(
    sandbox: Sandbox,
    signal: AbortSignal | undefined,
    run: () => Promise<BlockOutcome>,
  ): Promise<BlockOutcome> {
    if (signal === undefined) return run();
    const running = run();
    running.catch(() => {});
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolveAbort) => {
      onAbort = () => resolveAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const first = await Promise.race([running, aborted]);
      if (first !== undefined && !signal.aborted) return first;
      if (first !== undefined) return abortedOutcome(first);
      void sandbox
        .runCode(buildInterruptScript(ABORT_GRACE_MS / 1000 / 2), { language: 'bash', timeout: 5 })
        .catch(() => {});
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<undefined>((resolveGrace) => {
        graceTimer = setTimeout(() => resolveGrace(undefined), ABORT_GRACE_MS);
      });
      const settled = await Promise.race([running.catch(() => undefined), grace]);
      clearTimeout(graceTimer);
      if (settled !== undefined) return abortedOutcome(settled);
      await this.#discardSandbox('lost');
      return abortedOutcome(undefined);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  async #runInSandbox(
    sandbox: Sandbox,
    runtime: LanguageRunner,
    block: FreshProcessBlock,
    options: ExecuteCodeBlocksOptions,
  ): Promise<BlockOutcome> {
    if (options.collectImageFiles === true) await this.#workspaceImages.baseline(sandbox);
    const usePersistentPython = this.#stateful && runtime.persistentInterpreter === 'python';
    const serverTimeoutSeconds = Math.ceil(this.#timeoutMs / 1000) + SERVER_TIMEOUT_GRACE_SECONDS;
    const startedAt = performance.now();
    this.#lastExecutionBody = undefined;
    this.#codeSent += 1;
    let result: ExecutionResult;
    // What the block prints is copied aside for polling only when someone listens.
    const streamToken = options.onOutput !== undefined ? randomBytes(8).toString('hex') : undefined;
    let stopPolling: (() => void) | undefined;
    try {
      const running = usePersistentPython
        ? sandbox.runIpython(
            buildPersistentPythonCell(block.code, block.files, this.#timeoutMs, streamToken),
            {
              timeout: serverTimeoutSeconds,
            },
          )
        : sandbox.runCode(buildFreshProcessScript(runtime, block, this.#timeoutMs, streamToken), {
            language: 'bash',
            timeout: serverTimeoutSeconds,
          });
      if (streamToken !== undefined && options.onOutput !== undefined) {
        stopPolling = pollBlockOutput(sandbox, streamToken, options.onOutput);
      }
      // Whatever the server does (a stopped process answers nothing), the wait ends.
      const runMs = this.#deadlines.runMs;
      result = await withDeadline(
        running,
        runMs,
        () => new ExecutionTransportError('connection-lost', `the sandbox did not answer within ${runMs} ms`),
      ).finally(() => stopPolling?.());
    } catch (error) {
      // Only reached if our own timeout did not fire first (code that blocks SIGALRM, for example).
      if (error instanceof APIError && error.code === 'EXECUTION_TIMEOUT') {
        // The local server returns what the code printed before it was killed.
        const partial = partialOutputOf(this.#lastExecutionBody);
        const notice = usePersistentPython
          ? `${TIMEOUT_MESSAGE}\n${INTERPRETER_RESTARTED_NOTICE}`
          : TIMEOUT_MESSAGE;
        const output = partial.length > 0 ? `${partial.replace(/\n$/, '')}\n${notice}` : notice;
        return { exitCode: 124, output, outputFiles: [] };
      }
      throw error;
    }

    let stdout = result.stdout ?? '';
    let exitCode = result.exit_code ?? (result.success ? 0 : 1);
    if (usePersistentPython) {
      const parsed = parsePersistentPythonStdout(stdout);
      stdout = parsed.stdout;
      exitCode = parsed.status ?? (exitCode === 0 ? 1 : exitCode);
    } else if (exitCode === 137 && performance.now() - startedAt >= this.#timeoutMs) {
      // `timeout` had to SIGKILL a process that ignored SIGTERM.
      exitCode = 124;
    }
    let output = combineStreams(stdout, result.stderr ?? '');
    if (exitCode === 124)
      output = output.length > 0 ? `${output.replace(/\n$/, '')}\n${TIMEOUT_MESSAGE}` : TIMEOUT_MESSAGE;

    const {
      paths: outputFiles,
      names,
      skipped,
    } = await this.#saveImages(sandbox, result, this.#lastExecutionBody, options.collectImageFiles === true);
    const separator = () => (output.length > 0 && !output.endsWith('\n') ? '\n' : '');
    // Named relative to the output folder: the model (and whoever reads the transcript) never sees a host path.
    for (const name of names) output += `${separator()}Image saved to ${name}`;
    if (skipped > 0)
      output += `${separator()}[${skipped} more image${skipped === 1 ? '' : 's'} not saved: over the per-block image limit]`;
    return { exitCode, output, outputFiles };
  }

  /**
   * Saves the figures the block displayed and, with `collectImageFiles`, the PNG files it wrote, under
   * their own names. Code that saves a figure and also shows it (`savefig` then `show`) would give each
   * chart twice: when the block wrote at least as many files as it displayed figures, the files stand for them.
   */
  async #saveImages(
    sandbox: Sandbox,
    result: ExecutionResult,
    body: unknown,
    collectImageFiles: boolean,
  ): Promise<SavedImages> {
    const displayed = new Set<string>();
    if (typeof result.png === 'string' && result.png.length > 0) displayed.add(result.png);
    const extra = (body as { pngs?: unknown } | undefined)?.pngs;
    if (Array.isArray(extra)) {
      for (const png of extra) if (typeof png === 'string' && png.length > 0) displayed.add(png);
    }
    for (const rich of result.richOutputs ?? []) {
      const data = (rich.data as Record<string, unknown> | undefined)?.['image/png'];
      if (rich.type === 'image/png' && typeof data === 'string' && data.length > 0) displayed.add(data);
    }
    const figures: BlockImage[] = [...displayed].map((base64) => ({ data: Buffer.from(base64, 'base64') }));
    if (!collectImageFiles) return this.#images.saveBlockImages(figures);
    const files = await this.#workspaceImages.collect(sandbox, this.#images.maxBytes);
    const images =
      files.images.length > 0 && figures.length <= files.images.length
        ? files.images
        : [...files.images, ...figures];
    const saved = await this.#images.saveBlockImages(images);
    saved.skipped += files.tooLarge;
    return saved;
  }

  async #fileOperation<T>(what: string, operation: (sandbox: Sandbox) => Promise<T>): Promise<T> {
    return this.#serialize(async () => {
      this.#assertOpen();
      let sandbox: Sandbox;
      try {
        sandbox = await this.#ensureSandbox();
      } catch (error) {
        throw toExecutorError(error, `create a HopX sandbox at ${this.#baseURL}`, this.#baseURL);
      }
      const requestMs = this.#deadlines.requestMs;
      let timedOut = false;
      try {
        return await withDeadline(operation(sandbox), requestMs, () => {
          timedOut = true;
          return new SandboxFileError(
            `Could not ${what} in the HopX sandbox: ${this.#baseURL} did not answer within ${requestMs} ms ` +
              '(requestTimeoutMs). Check that the server is responsive, or raise requestTimeoutMs for large files.',
          );
        });
      } catch (error) {
        // A failed file call (a 5xx for one odd path, say) says nothing about the sandbox: it is only
        // replaced when it no longer answers, and then the next block reports the lost state.
        if ((timedOut || classify(error) === 'infrastructure') && !(await isAlive(sandbox, requestMs)))
          await this.#discardSandbox('lost');
        if (error instanceof HopXExecutorError) throw error;
        throw new SandboxFileError(`Could not ${what} in the HopX sandbox: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    });
  }

  // Asked once per sandbox, and only for a runtime that needs a language python and bash sandboxes may lack.
  async #templateHas(sandbox: Sandbox, language: string): Promise<boolean> {
    let languages = this.#templateLanguages.get(sandbox);
    if (languages === undefined) {
      // A health check that does not answer counts as no list: the block's run is bounded on its own.
      languages = withDeadline(
        sandbox.getHealth(),
        this.#deadlines.requestMs,
        () => new Error('health timed out'),
      )
        .then((health) => {
          const listed = health.features?.languages;
          return Array.isArray(listed) ? new Set(listed.map((entry) => String(entry).toLowerCase())) : null;
        })
        .catch(() => null);
      this.#templateLanguages.set(sandbox, languages);
    }
    const listed = await languages;
    return listed === null || listed.has(language);
  }

  #ensureSandbox(): Promise<Sandbox> {
    this.#assertOpen();
    if (this.#sandbox !== undefined) return this.#sandbox;
    const paused = this.#pausedSandboxId;
    if (paused !== undefined) {
      this.#pausedSandboxId = undefined;
      const requestMs = this.#deadlines.requestMs;
      const connecting = withDeadline(
        Sandbox.connect(paused, this.#apiKey, this.#baseURL),
        requestMs,
        () =>
          new SandboxUnavailableError(
            `${this.#baseURL} did not resume sandbox ${paused} within ${requestMs} ms (requestTimeoutMs). ` +
              'Check that the server is running and responsive, or raise requestTimeoutMs.',
          ),
      );
      const resuming = connecting.then((sandbox) => {
        makeExecutionSingleAttempt(sandbox, (body) => {
          this.#lastExecutionBody = body;
        });
        this.#currentSandboxId = paused;
        this.#untrackSandbox = trackLiveSandbox({
          sandboxId: paused,
          baseURL: this.#baseURL,
          apiKey: this.#apiKey,
        });
        return sandbox;
      });
      this.#sandbox = resuming;
      resuming.catch(() => {
        if (this.#sandbox === resuming) this.#sandbox = undefined;
        this.#stateLost = true;
      });
      return resuming;
    }
    const creating = this.#createSandbox();
    this.#sandbox = creating;
    creating.catch(() => {
      if (this.#sandbox === creating) this.#sandbox = undefined;
    });
    return creating;
  }

  async #createSandbox(): Promise<Sandbox> {
    const creating = Sandbox.create({
      template: this.#template,
      timeoutSeconds: Math.ceil(this.#sandboxTtlMs / 1000),
      apiKey: this.#apiKey,
      baseURL: this.#baseURL,
      ...(Object.keys(this.#envVars).length > 0 ? { envVars: this.#envVars } : {}),
    });
    const requestMs = this.#deadlines.requestMs;
    const sandbox = await withDeadline(creating, requestMs, () => {
      // A sandbox that arrives after all is not leaked.
      creating.then((late) => late.kill()).catch(() => {});
      return new SandboxUnavailableError(
        `${this.#baseURL} did not create a sandbox within ${requestMs} ms (requestTimeoutMs). ` +
          'Check that the server is running and responsive, or raise requestTimeoutMs.',
      );
    });
    try {
      assertSafeSandboxId(sandbox.sandboxId, this.#baseURL);
      makeExecutionSingleAttempt(sandbox, (body) => {
        this.#lastExecutionBody = body;
      });
    } catch (error) {
      await withDeadline(sandbox.kill(), requestMs, () => new Error('kill timed out')).catch(() => {});
      throw error;
    }
    this.#currentSandboxId = sandbox.sandboxId;
    this.#ttlExtendedAt = Date.now();
    this.#untrackSandbox = trackLiveSandbox({
      sandboxId: sandbox.sandboxId,
      baseURL: this.#baseURL,
      apiKey: this.#apiKey,
    });
    return sandbox;
  }

  /** `lost`: the executor gave up the sandbox on its own, so the next block must say state was lost. */
  async #discardSandbox(reason: 'requested' | 'lost'): Promise<void> {
    const pending = this.#sandbox;
    if (reason === 'lost' && pending !== undefined) this.#stateLost = true;
    this.#sandbox = undefined;
    this.#currentSandboxId = undefined;
    this.#untrackSandbox?.();
    this.#untrackSandbox = undefined;
    if (pending === undefined) return;
    try {
      const sandbox = await pending;
      // Bounded like every request: a server that does not answer must not hold the caller.
      await withDeadline(sandbox.kill(), this.#deadlines.requestMs, () => new Error('kill timed out'));
    } catch {
      // Best effort: the sandbox may already be gone, and its TTL reaps it otherwise.
    }
  }

  // HopX kills a sandbox sandboxTtlMs after creation; keep a sandbox that is in use alive.
  async #extendTtl(): Promise<void> {
    const pending = this.#sandbox;
    if (pending === undefined || Date.now() - this.#ttlExtendedAt < this.#sandboxTtlMs / 4) return;
    try {
      const sandbox = await pending;
      await withDeadline(
        sandbox.setTimeout(Math.ceil(this.#sandboxTtlMs / 1000)),
        this.#deadlines.requestMs,
        () => new Error('TTL extension timed out'),
      );
      this.#ttlExtendedAt = Date.now();
    } catch {
      // If the sandbox is gone, the next block notices and replaces it.
    }
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ExecutorClosedError();
  }
}

function unitOf(name: string): string {
  if (name.endsWith('Chars')) return 'characters';
  if (name === 'maxImagesPerBlock') return 'images';
  if (name === 'maxImageBytesPerBlock') return 'bytes';
  return 'milliseconds';
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidExecutorOptionError(
      `${name} must be a positive number of ${unitOf(name)}, got ${value}.`,
    );
  }
  return value;
}

/** Whether the sandbox still answers its control plane as running, within `deadlineMs`. */
async function isAlive(sandbox: Sandbox, deadlineMs: number): Promise<boolean> {
  try {
    const info = await withDeadline(sandbox.getInfo(), deadlineMs, () => new Error('status timed out'));
    return info.status === 'running';
  } catch {
    return false;
  }
}

// Infrastructure failures mean the sandbox can no longer be trusted: replace it and retry.
function classify(error: unknown): Failure {
  if (error instanceof ExecutionTransportError) return 'infrastructure';
  if (error instanceof SandboxExpiredError || error instanceof ServerError) return 'infrastructure';
  // The SDK reports a connection refused or reset (after its own retries) as an APIError without status.
  if (error instanceof APIError && error.statusCode === undefined && error.code === undefined)
    return 'infrastructure';
  return 'fatal';
}

// Blocks' outputs follow one another as printed, as in AutoGen's executors (no separator added).
function joinOutputs(outputs: string[]): string {
  return outputs.join('');
}

// What the block printed before it was stopped, then `Aborted` (a `Timeout` that raced the abort is dropped).
function abortedOutcome(stopped: BlockOutcome | undefined): BlockOutcome {
  const output = (stopped?.output ?? '').replace(/\n?Timeout$/, '').replace(/\n$/, '');
  return {
    exitCode: ABORT_EXIT_CODE,
    output: output.length > 0 ? `${output}\n${ABORT_MESSAGE}` : ABORT_MESSAGE,
    outputFiles: stopped?.outputFiles ?? [],
  };
}

/** What a raw execution body says was printed (the local server's 408 carries it), laid out like any output. */
function partialOutputOf(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const { stdout, stderr } = body as { stdout?: unknown; stderr?: unknown };
  return combineStreams(typeof stdout === 'string' ? stdout : '', typeof stderr === 'string' ? stderr : '');
}

// What the SDK (axios) says when no server listens or the name does not resolve.
const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|socket hang up/;

/** `baseURL` is given when the call was to the control plane: an unreachable one gets the fix in the message. */
function toExecutorError(error: unknown, what: string, baseURL?: string): Error {
  if (error instanceof HopXExecutorError) return error;
  if (
    baseURL !== undefined &&
    error instanceof APIError &&
    error.statusCode === undefined &&
    UNREACHABLE.test(error.message)
  ) {
    return new SandboxServerUnreachableError(baseURL, error.message, { cause: error });
  }
  if (error instanceof AuthenticationError) {
    return new SandboxAuthenticationError(
      `HopX rejected the API key while trying to ${what} (${errorMessage(error)}). Check apiKey or HOPX_API_KEY.`,
      { cause: error },
    );
  }
  if (error instanceof HopxError || error instanceof Error) {
    return new SandboxUnavailableError(`Could not ${what}: ${errorMessage(error)}`, { cause: error });
  }
  return new SandboxUnavailableError(`Could not ${what}: ${String(error)}`);
}
