import { randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RUNTIME_DIRECTORY_URL,
  SANDBOX_RUNTIME_PATH,
  SANDBOX_WORKSPACE_PATH,
} from '../isolation/sandbox-environment.js';
import type { IsolatedSandbox } from '../isolation/types.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import {
  type FileHelper,
  type FileHelperTarget,
  MAX_CONCURRENT_FILE_CALLS_PER_SANDBOX,
} from './file-helper.js';
import type { LongTimer } from './long-timer.js';
import { ProcessServer } from './process-server.js';
import type { LocalTemplate } from './templates.js';

/** Lifecycle states reported by `GET /v1/sandboxes/{id}`. */
export type SandboxStatus = 'running' | 'paused';

/** A background execution or command. */
export interface BackgroundProcess {
  processId: string;
  executionId: string;
  name: string | null;
  language: string | null;
  command: string | null;
  status: 'running' | 'completed' | 'failed' | 'killed' | 'timeout';
  exitCode: number | null;
  stdout: string;
  stderr: string;
  startedAt: string;
  endedAt: string | null;
  kill: () => void;
}

/** Where things are, as processes inside the sandbox see them. */
export interface SandboxView {
  /** The workspace (`/workspace` under bubblewrap). */
  workspace: string;
  /** The read-only runtime directory (`/opt/hopgen` under bubblewrap). */
  runtime: string;
}

/** Paths as a sandbox of `backendName` sees them. The `none` backend runs on the host's own paths. */
export function sandboxView(backendName: string, sandbox: IsolatedSandbox): SandboxView {
  if (backendName === 'none') {
    return {
      workspace: sandbox.workspaceDir,
      runtime: fileURLToPath(RUNTIME_DIRECTORY_URL).replace(/\/$/, ''),
    };
  }
  return { workspace: SANDBOX_WORKSPACE_PATH, runtime: SANDBOX_RUNTIME_PATH };
}

/**
 * The variables every run gets before the sandbox's and the request's own. Without network access,
 * the runtime's `offline/` comes first on PATH and PYTHONPATH: its `pip` says in one line that
 * nothing can be installed and lists what is (the real pip would print Debian's PEP 668 text, or
 * wait seconds for DNS with `--break-system-packages`).
 */
export function baseEnvironment(view: SandboxView, internetAccess: boolean): Record<string, string> {
  const offline = `${view.runtime}/offline`;
  return {
    PATH: `${internetAccess ? '' : `${offline}/bin:`}/usr/local/bin:/usr/bin:/bin`,
    HOME: view.workspace,
    LANG: 'C.UTF-8',
    PYTHONPATH: internetAccess ? view.runtime : `${offline}:${view.runtime}`,
    PYTHONDONTWRITEBYTECODE: '1',
    MPLBACKEND: 'module://hopgen_mpl',
  };
}

/** A new token for a sandbox's agent (the SDK sends it as `Authorization: Bearer`). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** One sandbox as the server tracks it. */
export class SandboxSession {
  readonly id: string;
  readonly template: LocalTemplate;
  readonly isolated: IsolatedSandbox;
  readonly view: SandboxView;
  readonly processServer: ProcessServer;
  /** Does every file operation in the workspace (see `file-helper.ts`). */
  readonly fileHelper: FileHelper;
  #fileTarget: Promise<FileHelperTarget> | undefined;
  readonly #backendName: string;
  createdAt = new Date();
  readonly internetAccess: boolean;
  token = newToken();
  tokenExpiresAt = new Date(Date.now() + TOKEN_LIFETIME_MS);
  status: SandboxStatus = 'running';
  timeoutSeconds: number | null = null;
  expiresAt: Date | null = null;
  ttlTimer: LongTimer | undefined;
  /** Sandbox environment variables (`/env`), applied to every later run. */
  envVars: Record<string, string> = {};
  readonly processes = new Map<string, BackgroundProcess>();
  readonly metrics = { executions: 0, requests: 0, errors: 0 };
  destroyed = false;
  /** Stops things tied to this sandbox (open streams) when it is destroyed. */
  readonly onDestroy = new Set<() => void>();

  constructor(options: {
    id: string;
    template: LocalTemplate;
    isolated: IsolatedSandbox;
    backendName: string;
    internetAccess: boolean;
    fileHelper: FileHelper;
    /** The sandbox's limits, named in the errors of runs that hit them. */
    limits?: { memoryBytes: number; pids: number };
  }) {
    this.fileHelper = options.fileHelper;
    this.#backendName = options.backendName;
    this.id = options.id;
    this.template = options.template;
    this.isolated = options.isolated;
    this.internetAccess = options.internetAccess;
    this.view = sandboxView(options.backendName, options.isolated);
    const python = options.template.languages.get('python')?.command ?? '/usr/bin/python3';
    this.processServer = new ProcessServer(options.isolated, {
      python,
      zygotePath: path.posix.join(SANDBOX_RUNTIME_PATH, 'zygote.py'),
      runCgroupPath: options.isolated.runCgroupPath,
      cwd: SANDBOX_WORKSPACE_PATH,
      env: baseEnvironment(this.view, options.internetAccess),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.template.languages.has('python') ? { forkServer: options.template.name } : {}),
    });
  }

  /** Where and as whom the file helper works for this sandbox. */
  fileTarget(): Promise<FileHelperTarget> {
    this.#fileTarget ??= realpath(this.isolated.workspaceDir).then((workspace) => ({
      workspace,
      isolate: this.#backendName !== 'none',
      owner: this.isolated.owner,
      namespacePid: this.isolated.workspaceNamespacePid,
      calls: new ConcurrencyLimit(MAX_CONCURRENT_FILE_CALLS_PER_SANDBOX),
    }));
    return this.#fileTarget;
  }

  /** The complete environment of a run: base, then sandbox variables, then the request's. */
  runEnvironment(requestEnv: Record<string, string> | undefined): Record<string, string> {
    return { ...baseEnvironment(this.view, this.internetAccess), ...this.envVars, ...(requestEnv ?? {}) };
  }

  /** Maps a request's working directory (`/workspace/x`, `x`) to the path the sandbox sees. */
  workingDirectory(requested: string | undefined): string {
    const value = requested && requested.trim() !== '' ? requested : SANDBOX_WORKSPACE_PATH;
    if (value === SANDBOX_WORKSPACE_PATH) return this.view.workspace;
    if (value.startsWith(`${SANDBOX_WORKSPACE_PATH}/`)) {
      return path.posix.join(this.view.workspace, value.slice(SANDBOX_WORKSPACE_PATH.length + 1));
    }
    if (!value.startsWith('/')) return path.posix.join(this.view.workspace, value);
    return value;
  }
}

/** How long an agent token stays valid; the SDK refreshes below one hour left. */
export const TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;
