import type { Pipeline, RunStore } from '@hopgen/agents';

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
}
