import type { Sandbox } from '@hopx-ai/sdk';
import { IncompatibleSdkError } from './errors.js';

/**
 * The HopX transport failed while code may already have been running: a 5xx answer or a
 * connection that dropped (or timed out) before any answer. The sandbox can no longer be trusted.
 */
export class ExecutionTransportError extends Error {
  constructor(
    readonly kind: 'server-error' | 'connection-lost',
    message: string,
    readonly statusCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExecutionTransportError';
  }
}

// The shape of the SDK's private HTTPClient (dist/chunk-*.mjs, 0.5.1) that this module relies on.
interface AxiosLikeError {
  isAxiosError: true;
  message: string;
  code?: string;
  response?: { status: number; data?: unknown };
}
interface AgentClientInternals {
  client: { post(url: string, data?: unknown, config?: unknown): Promise<{ data: unknown }> };
  post(url: string, data?: unknown, config?: unknown): Promise<unknown>;
  tokenRefreshCallback?: () => Promise<string | null>;
  updateJwtToken(token: string): void;
  handleError(error: unknown): never;
  [patchedMarker]?: true;
}

const patchedMarker = Symbol('hopgen.singleAttemptExecution');

// Every path that starts user code. Retrying any of these can run the code twice.
const EXECUTION_PATHS = ['/execute', '/commands/'];

function isAxiosError(error: unknown): error is AxiosLikeError {
  return (
    typeof error === 'object' && error !== null && (error as { isAxiosError?: unknown }).isAxiosError === true
  );
}

/**
 * The SDK re-sends any request up to 3 times after a 5xx or a response-less error, which would
 * run user code again on `POST /execute`. This makes execution requests on one sandbox single-shot:
 * one HTTP request, a 401 refreshes the token and tries once more (the server refused it, so nothing
 * ran), and a 5xx or dropped connection becomes an {@link ExecutionTransportError} for the executor
 * to handle on a fresh sandbox. Other requests (files, env) keep the SDK's retries; they are idempotent.
 * `onExecutionResponse` sees each raw execution body (the SDK drops fields it does not know, like `pngs`).
 */
export function makeExecutionSingleAttempt(
  sandbox: Sandbox,
  onExecutionResponse?: (body: unknown) => void,
): void {
  const client = (sandbox as unknown as { agentClient?: AgentClientInternals }).agentClient;
  if (
    client === undefined ||
    typeof client.post !== 'function' ||
    typeof client.client?.post !== 'function' ||
    typeof client.handleError !== 'function' ||
    typeof client.updateJwtToken !== 'function'
  ) {
    throw new IncompatibleSdkError(
      'The installed @hopx-ai/sdk does not expose the agent HTTP client this package wraps to stop it from ' +
        're-running code after a 5xx. Install @hopx-ai/sdk 0.5.1, the version @hopgen/executors-hopx is built for.',
    );
  }
  if (client[patchedMarker]) return;
  const retryingPost = client.post.bind(client);
  client.post = async (url: string, data?: unknown, config?: unknown) => {
    if (!EXECUTION_PATHS.some((prefix) => url.startsWith(prefix))) return retryingPost(url, data, config);
    // An error answer's body counts too: the local server's 408 carries the output printed so far.
    const body = await postOnce(client, url, data, config, onExecutionResponse);
    onExecutionResponse?.(body);
    return body;
  };
  client[patchedMarker] = true;
}

async function postOnce(
  client: AgentClientInternals,
  url: string,
  data: unknown,
  config: unknown,
  onErrorBody?: (body: unknown) => void,
): Promise<unknown> {
  try {
    return (await client.client.post(url, data, config)).data;
  } catch (error) {
    if (!isAxiosError(error)) throw error;
    if (error.response !== undefined) onErrorBody?.(error.response.data);
    const status = error.response?.status;
    if (status === 401 && client.tokenRefreshCallback !== undefined) {
      const token = await client.tokenRefreshCallback();
      if (token) {
        client.updateJwtToken(token);
        try {
          return (await client.client.post(url, data, config)).data;
        } catch (retryError) {
          return rethrow(client, retryError);
        }
      }
    }
    return rethrow(client, error);
  }
}

function rethrow(client: AgentClientInternals, error: unknown): never {
  if (!isAxiosError(error)) throw error;
  const status = error.response?.status;
  if (status === undefined) {
    throw new ExecutionTransportError(
      'connection-lost',
      `connection to the sandbox was lost: ${error.code ?? error.message}`,
      undefined,
      { cause: error },
    );
  }
  if (status >= 500) {
    throw new ExecutionTransportError('server-error', `the sandbox answered HTTP ${status}`, status, {
      cause: error,
    });
  }
  // Anything else gets the SDK's usual error class (SandboxExpiredError, APIError EXECUTION_TIMEOUT, ...).
  return client.handleError(error);
}
