import type { Pipeline, RunStore } from '@hopgen/agents';
import { ServeOptionsError } from './errors.js';

/** Options of {@link serve} and {@link createRequestHandler}. */
export interface ServeOptions {
  /** The pipelines the API and the page can start, by name. */
  pipelines: readonly Pipeline<any, any>[];
  /** Where runs are stored. @default a `FileRunStore` in `.hopgen/runs` */
  store?: RunStore;
  /**
   * The bearer token every API request must carry. Give it here or in `HOPGEN_SERVE_TOKEN`, never on
   * a command line (other users see those). @default `HOPGEN_SERVE_TOKEN`, else a random token
   */
  token?: string;
  /** Address to listen on. Anything but a loopback address exposes the runs to the network. @default '127.0.0.1' */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * Extra `Host` header values to accept (with port, e.g. `hopgen.internal:8080`), for a reverse
   * proxy. `127.0.0.1`, `localhost` and `[::1]` (any port) are always accepted. @default []
   */
  allowedHosts?: readonly string[];
  /** Origins whose pages may call the API (CORS), e.g. `http://localhost:3000`. @default [] (no CORS headers) */
  allowedOrigins?: readonly string[];
  /**
   * At start, resume the runs of registered pipelines that a stopped or killed server left running
   * or waiting for a person. @default true
   */
  resumeRuns?: boolean;
  /** Largest request body accepted, in bytes. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /**
   * How often each run this server runs looks in the store for a cancel asked elsewhere (another
   * server on the same store, `requestCancel` from code), in milliseconds: one read of the run's
   * answers per interval, per running run. At most 2147483647. @default 1000
   */
  cancelPollMs?: number;
}

/** Node's longest timer, in milliseconds: a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Refuses options that would fail silently later: an origin with a path or a trailing slash never
 * equals the `Origin` a browser sends, a host with a scheme never equals a `Host` header, and two
 * pipelines of one name would leave one unreachable.
 */
export function checkServeOptions(options: ServeOptions): void {
  for (const origin of options.allowedOrigins ?? []) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {}
    if (parsed?.origin !== origin) {
      const hint = parsed && parsed.origin !== 'null' ? `"${parsed.origin}"` : 'e.g. "http://localhost:3000"';
      throw new ServeOptionsError(
        `allowedOrigins has ${JSON.stringify(origin)}, which is not an origin a browser sends. Give the scheme, host and port only: ${hint}.`,
      );
    }
  }
  for (const host of options.allowedHosts ?? []) {
    if (!/^[a-z0-9.-]+(:\d+)?$|^\[[0-9a-f:.]+\](:\d+)?$/i.test(host)) {
      throw new ServeOptionsError(
        `allowedHosts has ${JSON.stringify(host)}, which is not a Host header value. Give the name and port only, e.g. "hopgen.internal:8080".`,
      );
    }
  }
  const { maxBodyBytes } = options;
  if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) {
    throw new ServeOptionsError(
      `maxBodyBytes is ${maxBodyBytes}; give a whole number of bytes above 0 (default 1048576).`,
    );
  }
  const { cancelPollMs } = options;
  if (
    cancelPollMs !== undefined &&
    !(Number.isFinite(cancelPollMs) && cancelPollMs >= 1 && cancelPollMs <= MAX_TIMER_MS)
  ) {
    throw new ServeOptionsError(
      `cancelPollMs is ${cancelPollMs}; give a number of milliseconds from 1 to ${MAX_TIMER_MS} (default 1000).`,
    );
  }
  const names = new Set<string>();
  for (const pipeline of options.pipelines) {
    if (names.has(pipeline.name)) {
      throw new ServeOptionsError(
        `Two pipelines are named ${JSON.stringify(pipeline.name)}; the API starts pipelines by name. Give each its own name.`,
      );
    }
    names.add(pipeline.name);
  }
}
