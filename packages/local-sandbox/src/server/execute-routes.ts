import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HopxHttpError,
  MAX_EXECUTION_TIMEOUT_SECONDS,
  optionalPositiveNumber,
  optionalString,
  optionalStringMap,
  readJsonObject,
  requiredString,
  sendJson,
} from './http-utilities.js';
import type { LanguageCommand } from './language-probe.js';
import { type LongTimer, setLongTimeout } from './long-timer.js';
import { decodeSegment } from './path-segments.js';
import type { RunHandle, RunOutcome } from './process-server.js';
import type { BackgroundProcess, SandboxSession } from './sandbox-session.js';

const BODY_LIMIT = 16 * 1024 * 1024;
/** How long to wait for a killed run to be reaped before answering anyway. */
const KILL_GRACE_MS = 2000;

const LANGUAGE_ALIASES: Record<string, string> = {
  python: 'python',
  python3: 'python',
  py: 'python',
  ipython: 'python',
  javascript: 'javascript',
  js: 'javascript',
  node: 'javascript',
  nodejs: 'javascript',
  bash: 'bash',
  sh: 'bash',
  shell: 'bash',
  go: 'go',
  golang: 'go',
};

/** The runtime for a request's language, or a 400 that lists what this sandbox has. */
export function languageFor(session: SandboxSession, requested: string | undefined): LanguageCommand {
  const name = LANGUAGE_ALIASES[(requested ?? 'python').toLowerCase()] ?? (requested ?? '').toLowerCase();
  const runtime = session.template.languages.get(name);
  if (!runtime) {
    const available = [...session.template.languages.keys()].join(', ') || 'none';
    throw new HopxHttpError(
      400,
      'INVALID_REQUEST',
      `Language ${JSON.stringify(requested)} is not available in template ${session.template.name} on this host. Available languages: ${available}.`,
      { available_languages: [...session.template.languages.keys()] },
    );
  }
  return runtime;
}

/** Refuses to run code in a paused sandbox. */
export function assertRunning(session: SandboxSession): void {
  if (session.status === 'paused') {
    throw new HopxHttpError(
      409,
      'SANDBOX_PAUSED',
      `Sandbox ${session.id} is paused; resume it before running code.`,
    );
  }
}

function timeoutOf(body: Record<string, unknown>, fallbackSeconds: number): number {
  return optionalPositiveNumber(body, 'timeout', MAX_EXECUTION_TIMEOUT_SECONDS) ?? fallbackSeconds;
}

/** Starts code in a fresh process: Python forks from the zygote, other languages exec their interpreter. */
export async function startCode(
  session: SandboxSession,
  runtime: LanguageCommand,
  code: string,
  workdir: string | undefined,
  env: Record<string, string> | undefined,
): Promise<RunHandle> {
  const cwd = session.workingDirectory(workdir);
  const environment = session.runEnvironment(env);
  session.metrics.executions++;
  if (runtime.language === 'python') {
    return session.processServer.run({ kind: 'python', code, cwd, env: environment });
  }
  if (runtime.language === 'go') {
    environment.GOCACHE ??= '/tmp/go-cache';
    environment.GOPATH ??= '/tmp/go';
  }
  return session.processServer.run({
    kind: 'exec',
    argv: [runtime.command, ...runtime.args],
    code,
    extension: runtime.extension,
    cwd,
    env: environment,
  });
}

/**
 * Waits for `outcome`; after `timeoutSeconds` kills the run and throws the 408, which carries what
 * the run printed before it was killed (as the stateless path's `timeout` keeps it).
 */
export async function waitWithTimeout(
  outcome: Promise<RunOutcome>,
  timeoutSeconds: number,
  kill: () => void | Promise<void>,
): Promise<RunOutcome> {
  let timer: LongTimer | undefined;
  const timedOut = new Promise<null>((resolve) => {
    timer = setLongTimeout(() => resolve(null), timeoutSeconds * 1000);
  });
  const result = await Promise.race([outcome, timedOut]);
  timer?.clear();
  if (result !== null) return result;
  const partial = await Promise.race([
    Promise.resolve(kill()).then(() => outcome),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), KILL_GRACE_MS)),
  ]);
  throw new HopxHttpError(
    408,
    'EXECUTION_TIMEOUT',
    `Execution timed out after ${timeoutSeconds} seconds; the process was killed.`,
    { timeout: timeoutSeconds, stdout: partial?.stdout ?? '', stderr: partial?.stderr ?? '' },
  );
}

/** The `/execute` response body. */
export function executionBody(
  outcome: RunOutcome,
  startedAt: number,
  language: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    success: outcome.exitCode === 0,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    exit_code: outcome.exitCode,
    execution_time: (performance.now() - startedAt) / 1000,
    timestamp: new Date().toISOString(),
    language,
  };
  if (outcome.rich.png) body.png = outcome.rich.png;
  if (outcome.rich.pngs && outcome.rich.pngs.length > 1) body.pngs = outcome.rich.pngs;
  if (outcome.rich.html) body.html = outcome.rich.html;
  if (outcome.rich.result !== undefined) body.result = outcome.rich.result;
  return body;
}

let processCounter = 0;

function registerBackground(
  session: SandboxSession,
  handle: RunHandle,
  timeoutSeconds: number,
  details: { name: string | null; language: string | null; command: string | null },
): BackgroundProcess {
  const processId = `proc_${Date.now().toString(36)}${(++processCounter).toString(36)}`;
  const entry: BackgroundProcess = {
    processId,
    executionId: `exec_${processId.slice(5)}`,
    ...details,
    status: 'running',
    exitCode: null,
    stdout: '',
    stderr: '',
    startedAt: new Date().toISOString(),
    endedAt: null,
    kill: () => {
      if (entry.status === 'running') entry.status = 'killed';
      session.processServer.kill(handle.id);
    },
  };
  session.processes.set(processId, entry);
  const timer = setLongTimeout(() => {
    if (entry.status === 'running') entry.status = 'timeout';
    session.processServer.kill(handle.id);
  }, timeoutSeconds * 1000);
  void handle.outcome
    .then((outcome) => {
      timer.clear();
      entry.exitCode = outcome.exitCode;
      entry.stdout = outcome.stdout;
      entry.stderr = outcome.stderr;
      entry.endedAt = new Date().toISOString();
      if (entry.status === 'running') entry.status = outcome.exitCode === 0 ? 'completed' : 'failed';
    })
    .catch(() => {
      timer.clear();
      if (entry.status === 'running') entry.status = 'failed';
    });
  return entry;
}

/** The wire form of a background process. */
function processJson(entry: BackgroundProcess): Record<string, unknown> {
  return {
    process_id: entry.processId,
    execution_id: entry.executionId,
    name: entry.name,
    status: entry.status,
    exit_code: entry.exitCode,
    pid: null,
    language: entry.language,
    command: entry.command,
    started_at: entry.startedAt,
    ended_at: entry.endedAt,
    stdout: entry.stdout,
    stderr: entry.stderr,
  };
}

function killProcess(
  session: SandboxSession,
  processId: string | null | undefined,
  response: ServerResponse,
): void {
  const entry = processId ? session.processes.get(processId) : undefined;
  if (!entry) {
    throw new HopxHttpError(
      404,
      'PROCESS_NOT_FOUND',
      `Process ${String(processId)} does not exist in this sandbox.`,
    );
  }
  entry.kill();
  sendJson(response, 200, {
    success: true,
    process_id: entry.processId,
    status: entry.status,
    message: 'Process killed',
  });
}

/** Serves `/execute*` and `/commands/*`. Returns false when the route is not one of them. */
export async function handleExecuteRoute(
  session: SandboxSession,
  method: string,
  route: string,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  if (method === 'POST' && route === '/execute') {
    const body = await readJsonObject(request, BODY_LIMIT);
    const code = requiredString(body, 'code');
    const runtime = languageFor(session, optionalString(body, 'language'));
    const timeoutSeconds = timeoutOf(body, 120);
    assertRunning(session);
    const startedAt = performance.now();
    const handle = await startCode(
      session,
      runtime,
      code,
      optionalString(body, 'workdir'),
      optionalStringMap(body, 'env'),
    );
    const outcome = await waitWithTimeout(handle.outcome, timeoutSeconds, () =>
      session.processServer.kill(handle.id),
    );
    sendJson(response, 200, executionBody(outcome, startedAt, runtime.language));
    return true;
  }
  if (method === 'POST' && route === '/execute/ipython') {
    const body = await readJsonObject(request, BODY_LIMIT);
    const code = requiredString(body, 'code');
    languageFor(session, 'python');
    const timeoutSeconds = timeoutOf(body, 60);
    assertRunning(session);
    const startedAt = performance.now();
    session.metrics.executions++;
    const call = session.processServer.repl(code, session.runEnvironment(optionalStringMap(body, 'env')));
    const outcome = await waitWithTimeout(call.outcome, timeoutSeconds, async () => {
      await session.processServer.killRepl();
      // Restart at once so the next call finds a fresh interpreter (its variables are gone).
      session.processServer.startRepl().catch(() => {});
    });
    sendJson(response, 200, executionBody(outcome, startedAt, 'python'));
    return true;
  }
  if (method === 'POST' && route === '/execute/background') {
    const body = await readJsonObject(request, BODY_LIMIT);
    const code = requiredString(body, 'code');
    const runtime = languageFor(session, optionalString(body, 'language'));
    assertRunning(session);
    const handle = await startCode(
      session,
      runtime,
      code,
      optionalString(body, 'workdir'),
      optionalStringMap(body, 'env'),
    );
    const entry = registerBackground(session, handle, timeoutOf(body, 300), {
      name: optionalString(body, 'name') ?? null,
      language: runtime.language,
      command: null,
    });
    sendJson(response, 200, {
      process_id: entry.processId,
      execution_id: entry.executionId,
      status: 'running',
    });
    return true;
  }
  if (method === 'GET' && (route === '/execute/processes' || route === '/processes')) {
    sendJson(response, 200, { processes: [...session.processes.values()].map(processJson) });
    return true;
  }
  if (method === 'POST' && route.startsWith('/execute/kill/')) {
    killProcess(session, decodeSegment(route.slice('/execute/kill/'.length)), response);
    return true;
  }
  if ((method === 'DELETE' || method === 'POST') && route === '/execute/kill') {
    killProcess(session, query.get('process_id'), response);
    return true;
  }
  if (method === 'POST' && (route === '/commands/run' || route === '/commands/background')) {
    const body = await readJsonObject(request, BODY_LIMIT);
    const command = requiredString(body, 'command');
    const args = body.args ?? [];
    if (!Array.isArray(args) || args.some((argument) => typeof argument !== 'string')) {
      throw new HopxHttpError(400, 'INVALID_REQUEST', 'Field "args" must be an array of strings.');
    }
    assertRunning(session);
    const background = route === '/commands/background';
    const timeoutSeconds = timeoutOf(body, background ? 120 : 30);
    const startedAt = performance.now();
    session.metrics.executions++;
    const handle = await session.processServer.run({
      kind: 'exec',
      argv: [command, ...(args as string[])],
      cwd: session.workingDirectory(optionalString(body, 'workdir')),
      env: session.runEnvironment(optionalStringMap(body, 'env')),
    });
    const commandLine = [command, ...(args as string[])].join(' ');
    if (background) {
      const entry = registerBackground(session, handle, timeoutSeconds, {
        name: null,
        language: null,
        command: commandLine,
      });
      sendJson(response, 200, {
        process_id: entry.processId,
        execution_id: entry.executionId,
        status: 'running',
      });
      return true;
    }
    const outcome = await waitWithTimeout(handle.outcome, timeoutSeconds, () =>
      session.processServer.kill(handle.id),
    );
    sendJson(response, 200, {
      success: outcome.exitCode === 0,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      exit_code: outcome.exitCode,
      execution_time: (performance.now() - startedAt) / 1000,
      command: commandLine,
      timestamp: new Date().toISOString(),
    });
    return true;
  }
  return false;
}
