import type { SandboxLimits } from '../isolation/types.js';

/** What a log line reports: a sandbox or server event, or an error. */
export type LogKind = 'event' | 'error';

/** Options of {@link startLocalSandboxServer}. */
export interface LocalSandboxServerOptions {
  /** Interface to listen on. Anything other than loopback exposes code execution to the network. @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** API key clients must send (`X-API-Key` or `Authorization: Bearer`). @default a random key, returned by the server handle */
  apiKey?: string;
  /** Pre-started sandboxes kept ready per template (interpreter running, pandas/matplotlib imported), in sandboxes. @default 0 */
  poolSize?: number;
  /** Resource limits of every sandbox (bytes, process count, cores); unset fields keep the backend defaults. @default {} */
  limits?: Partial<SandboxLimits>;
  /** How sandboxes are isolated. `none` runs code unisolated (development on macOS only). @default 'bubblewrap' */
  isolation?: 'bubblewrap' | 'none';
  /**
   * Run sandboxes without cgroup limits when the host cannot enforce them (not root, no delegated
   * cgroup). Namespaces and seccomp still apply; memory, process, CPU and workspace limits and pause do
   * not, and the server warns on every start. Also set by `HOPGEN_ALLOW_UNLIMITED_SANDBOXES=1`.
   * @default false
   */
  allowUnlimited?: boolean;
  /**
   * Host directory for sandbox workspaces; every directory above it must be searchable by other users.
   * @default `os.tmpdir()`, or `/tmp` when TMPDIR is private
   */
  baseDirectory?: string;
  /** TTL in seconds of sandboxes created without `timeout_seconds`; 0 means they live until deleted. @default 0 */
  defaultTimeoutSeconds?: number;
  /**
   * Largest page `GET /v1/sandboxes?limit=N` returns, in sandboxes; bigger `limit`s are clamped (clients
   * follow `next_cursor`). A request without `limit` (the SDK's `Sandbox.list`) gets every sandbox.
   * @default 100
   */
  listPageLimit?: number;
  /**
   * Receives one line per server event: start-up, each sandbox created, paused, resumed, deleted or
   * expired (`event`), and each error: rejected credentials, internal errors, pool failures (`error`).
   * Never a key or a token.
   * @default no logging
   */
  log?: (message: string, kind: LogKind) => void;
}

/** Limits used when the caller gives none. */
export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 1024 * 1024 * 1024,
  pids: 256,
  cpus: 1,
  tmpBytes: 256 * 1024 * 1024,
  workspaceBytes: 1024 * 1024 * 1024,
};

/** What {@link startLocalSandboxServer} returns. */
export interface LocalSandboxServer {
  /** Control-plane base URL to pass as the SDK's `baseURL`, e.g. `http://127.0.0.1:7070`. */
  baseURL: string;
  /** The API key clients must send. */
  apiKey: string;
  /** Destroys every sandbox and stops the server. */
  close(): Promise<void>;
}
