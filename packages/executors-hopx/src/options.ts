import type { CodeExtractor } from '@hopgen/agents';
import type { LanguageMappingEntry } from './languages.js';

/** Options for `new HopXCodeExecutor()`. Every duration is in milliseconds. */
export interface HopXCodeExecutorOptions {
  /** HopX template the sandbox is created from. @default 'code-interpreter' */
  template?: string;
  /**
   * Longest a single code block may run, milliseconds. A block that runs longer is killed and
   * answers exit code 124 with what it printed before, and a `Timeout` line.
   * @default 60_000
   */
  timeoutMs?: number;
  /**
   * Sandbox time to live, milliseconds: HopX kills a sandbox this long after it was last used
   * (the executor extends it as it runs code). Guards against sandboxes leaked by a crash.
   * @default 300_000
   */
  sandboxTtlMs?: number;
  /**
   * Keep Python state between blocks and messages by running Python in the sandbox's persistent
   * interpreter. When false every block is a fresh process; only files persist.
   * @default true
   */
  stateful?: boolean;
  /** HopX API key. @default process.env.HOPX_API_KEY */
  apiKey?: string;
  /**
   * HopX control-plane URL (for example the `baseURL` of `@hopgen/local-sandbox`).
   * @default process.env.HOPX_BASE_URL, else 'https://api.hopx.dev'
   */
  baseURL?: string;
  /** Outputs longer than this many characters keep their head and tail only. @default 10_000 */
  maxOutputChars?: number;
  /**
   * Local directory where images the code displays (PNG) are saved; they stay there after `close()`.
   * Without it images go to a private directory under the OS temporary directory (`hopgen-hopx-*`,
   * created on first use) that `close()` deletes: pass `outputDir` to keep them.
   * @default a per-executor temporary directory, removed by `close()`
   */
  outputDir?: string;
  /**
   * Most images saved for one code block; the output says how many more were left out.
   * @default 20
   */
  maxImagesPerBlock?: number;
  /**
   * Most bytes of images saved for one code block (decoded PNG sizes added up); an image that would
   * go over is left out and the output says so.
   * @default 20_971_520 (20 MiB)
   */
  maxImageBytesPerBlock?: number;
  /**
   * How many times a block is retried on a fresh sandbox after an infrastructure failure
   * (HTTP 5xx, a dropped connection, an expired sandbox). 0 disables retries.
   * @default 3
   */
  maxRetries?: number;
  /**
   * Longest wait for one answer of the sandbox service to a request that runs no code (create, kill,
   * TTL extension, health, file calls, image files), milliseconds; a block's run may take `timeoutMs`,
   * rounded up to whole seconds, plus 10 s (the server's own backstop) plus this. So, whatever the
   * server does, one `executeCodeBlocks` call ends within blocks × (maxRetries + 1) × (ceil(timeoutMs)
   * + 10 s + 6 × requestTimeoutMs) + requestTimeoutMs (plus the abort grace when aborted), a file call
   * within 4 × requestTimeoutMs and `check()`, `restart()` and `close()` within requestTimeoutMs, each
   * counted from when the calls queued before it on the same executor are done.
   * @default 30_000
   */
  requestTimeoutMs?: number;
  /** Environment variables set in the sandbox when it is created. @default {} */
  envVars?: Record<string, string>;
  /**
   * Extra languages, or replacements for the defaults, by fence tag: a runtime
   * `{ fileExtension, command }` or the name of another language (an alias).
   * @default {} (python/py/python3, bash/sh/shell, javascript/js/node, typescript/ts, go)
   */
  languages?: Record<string, LanguageMappingEntry>;
  /** Finds code blocks in messages. @default new MarkdownCodeExtractor() */
  codeExtractor?: CodeExtractor;
}
