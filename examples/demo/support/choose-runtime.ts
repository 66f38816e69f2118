import {
  type ConversableAgent,
  createModelClient,
  type LlmConfig,
  type ModelClient,
  type ModelRequest,
  type ModelResponse,
} from '@hopgen/agents';
import { ScriptedModelClient, type ScriptedModelClientOptions } from '@hopgen/agents/testing';
import { HopXCodeExecutor, type HopXCodeExecutorOptions } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import type { Progress } from './progress.js';

/** The replies a scripted agent gives: a list, or a function of the request (see `ScriptedModelClient`). */
export type ScriptedReplies = ScriptedModelClientOptions['replies'];

/** Which sandbox and which model an example runs with, and how to say it to people. */
export interface RuntimeChoice {
  /** `hopx`: HopX cloud, or the HopX-compatible server at `HOPX_BASE_URL`; `local`: `@hopgen/local-sandbox` in process. */
  sandbox: 'hopx' | 'local';
  /** `openai`: api.openai.com; `openai-compatible`: the server at `OPENAI_BASE_URL`; `scripted`: replies written for the example. */
  model: 'openai' | 'openai-compatible' | 'scripted';
  /** One line each, e.g. `local sandbox (@hopgen/local-sandbox, bubblewrap) at http://127.0.0.1:41234`. */
  sandboxDescription: string;
  modelDescription: string;
}

/** Options of {@link chooseRuntime}. */
export interface ChooseRuntimeOptions {
  /** Offline replies per agent name, used when no model is configured. */
  scripts: Record<string, ScriptedReplies>;
  /** Shows slow steps (model calls, sandbox start) on standard error. */
  progress: Progress;
  /** Where executors save the images code displays. @default the executor's default (a temporary directory) */
  outputDirectory?: string;
  /** Read instead of `process.env` (tests). @default process.env */
  environment?: NodeJS.ProcessEnv;
  /** The operating system to choose for (tests). @default process.platform */
  platform?: NodeJS.Platform;
}

/** The parts an example runs on. `close()` closes every executor it made and stops the local server. */
export interface Runtime {
  readonly choice: RuntimeChoice;
  /** True when the model is a `ScriptedModelClient` (no key was given). */
  readonly scripted: boolean;
  /** The HopX control plane the executors use (for out-of-band operations such as example 6's kill). */
  readonly sandboxEndpoint: { baseURL: string; apiKey: string };
  /** A new executor on the chosen sandbox; closed by `close()`. */
  createExecutor(options?: HopXCodeExecutorOptions): HopXCodeExecutor;
  /** The `llmConfig` for the agent named `agentName`: its script offline, the chosen model otherwise. */
  llmConfig(agentName: string, extra?: Omit<LlmConfig, 'modelClient' | 'configList'>): LlmConfig;
  /** Shows progress for this agent's code runs and sandbox creation, driven by its events. */
  watch(agents: readonly ConversableAgent[]): void;
  /** Closes every executor, then stops the local sandbox server. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';

/**
 * Picks the sandbox and the model the same way for every example:
 * - sandbox: HopX when `HOPX_API_KEY` is set (HopX cloud, or `HOPX_BASE_URL`), else `@hopgen/local-sandbox`
 *   started in this process on 127.0.0.1;
 * - model: an OpenAI-compatible server when `OPENAI_BASE_URL` is set, OpenAI when `OPENAI_API_KEY` is set
 *   (`OPENAI_MODEL` names the model, default gpt-4o-mini), else the example's scripted replies.
 */
export async function chooseRuntime(options: ChooseRuntimeOptions): Promise<Runtime> {
  const environment = options.environment ?? process.env;
  const { progress } = options;
  const hopxKey = nonEmpty(environment['HOPX_API_KEY']);
  const openaiKey = nonEmpty(environment['OPENAI_API_KEY']);
  const openaiBaseURL = nonEmpty(environment['OPENAI_BASE_URL']);
  const modelName = nonEmpty(environment['OPENAI_MODEL']) ?? DEFAULT_OPENAI_MODEL;

  const model: RuntimeChoice['model'] = openaiBaseURL
    ? 'openai-compatible'
    : openaiKey
      ? 'openai'
      : 'scripted';
  const modelDescription =
    model === 'scripted'
      ? 'scripted replies written for this example (no OPENAI_API_KEY or OPENAI_BASE_URL set)'
      : model === 'openai'
        ? `OpenAI ${modelName}`
        : `${modelName} at the OpenAI-compatible server ${openaiBaseURL}`;

  let server: { baseURL: string; apiKey: string; close(): Promise<void> } | undefined;
  let executorDefaults: HopXCodeExecutorOptions;
  let sandboxDescription: string;
  if (hopxKey) {
    const baseURL = nonEmpty(environment['HOPX_BASE_URL']);
    executorDefaults = { apiKey: hopxKey, ...(baseURL ? { baseURL } : {}) };
    sandboxDescription = baseURL ? `HopX-compatible server at ${baseURL}` : 'HopX cloud (api.hopx.dev)';
  } else {
    const platform = options.platform ?? process.platform;
    if (platform !== 'linux') {
      // The local sandbox is bubblewrap, seccomp and cgroups: Linux kernel features.
      throw new Error(
        `The local sandbox needs Linux, and this is ${platform}. Either use HopX cloud: set HOPX_API_KEY ` +
          '(and HOPX_BASE_URL for another HopX-compatible server), or run the examples inside a Linux VM or ' +
          'container, step by step in docs/getting-started.md ("macOS and Windows").',
      );
    }
    // A warm sandbox only pays off while a real model thinks; scripted replies are instant.
    const poolSize = model === 'scripted' ? 0 : 1;
    server = await progress.track('starting the local sandbox server', () =>
      startLocalSandboxServer({ host: '127.0.0.1', port: 0, poolSize }),
    );
    executorDefaults = { apiKey: server.apiKey, baseURL: server.baseURL };
    sandboxDescription = `local sandbox (@hopgen/local-sandbox, bubblewrap) at ${server.baseURL}`;
  }
  if (options.outputDirectory !== undefined) executorDefaults.outputDir = options.outputDirectory;

  const executors: HopXCodeExecutor[] = [];
  let closed: Promise<void> | undefined;

  return {
    choice: { sandbox: hopxKey ? 'hopx' : 'local', model, sandboxDescription, modelDescription },
    scripted: model === 'scripted',
    sandboxEndpoint: {
      baseURL: executorDefaults.baseURL ?? nonEmpty(environment['HOPX_BASE_URL']) ?? 'https://api.hopx.dev',
      apiKey: executorDefaults.apiKey ?? '',
    },

    createExecutor(executorOptions = {}) {
      const executor = new HopXCodeExecutor({ ...executorDefaults, ...executorOptions });
      executors.push(executor);
      executor.on('execution-started', (event) => {
        if (event.sandboxId !== undefined) return;
        const end = progress.begin('creating a sandbox');
        executor.once('block-finished', () => end());
        executor.once('execution-finished', (endEvent) => end(endEvent.error ? 'failed' : undefined));
      });
      return executor;
    },

    llmConfig(agentName, extra = {}) {
      if (model === 'scripted') {
        const replies = options.scripts[agentName];
        if (replies === undefined) {
          throw new Error(
            `No scripted replies for agent '${agentName}'. Add them to the example's script, or set OPENAI_API_KEY.`,
          );
        }
        return { ...extra, modelClient: new ScriptedModelClient({ replies }) };
      }
      const configList = [
        {
          model: modelName,
          ...(openaiKey ? { apiKey: openaiKey } : {}),
          ...(openaiBaseURL ? { baseURL: openaiBaseURL } : {}),
        },
      ];
      // Every run is a real run: AutoGen's default disk cache would replay earlier answers.
      const inner = createModelClient({ cacheSeed: null, ...extra, configList });
      return { ...extra, modelClient: new ProgressModelClient(inner, agentName, progress) };
    },

    watch(agents) {
      for (const agent of agents) {
        let end: ((outcome?: string) => void) | undefined;
        agent.on('code-execution-start', ({ codeBlocks }) => {
          const languages = [...new Set(codeBlocks.map((block) => block.language || 'unknown'))].join(', ');
          end = progress.begin(`${agent.name} runs ${languages} in the sandbox`);
        });
        agent.on('code-execution-end', ({ result }) => {
          end?.(result.exitCode === 0 ? undefined : `exit code ${result.exitCode}`);
          end = undefined;
        });
      }
    },

    close() {
      closed ??= (async () => {
        progress.stop();
        const results = await Promise.allSettled(executors.map((executor) => executor.close()));
        if (server !== undefined) await server.close();
        const failure = results.find((result) => result.status === 'rejected');
        if (failure) throw (failure as PromiseRejectedResult).reason;
      })();
      return closed;
    },
  };
}

/** Wraps a real model client so a pending call shows as a spinner (`coder is waiting for gpt-4o-mini`). */
class ProgressModelClient implements ModelClient {
  constructor(
    readonly inner: ModelClient,
    readonly agentName: string,
    readonly progress: Progress,
  ) {}

  async create(request: ModelRequest): Promise<ModelResponse> {
    return this.progress.track(`${this.agentName} is waiting for the model`, () =>
      this.inner.create(request),
    );
  }

  usage() {
    return this.inner.usage();
  }

  clearUsage(): void {
    this.inner.clearUsage();
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
