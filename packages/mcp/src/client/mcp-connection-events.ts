/** Payload of `connection-lost`: the server went away; its tools fail until the next call reconnects. */
export interface McpConnectionLostEvent {
  /** The server's `name`. */
  server: string;
  /** Why, in words (for example "the server process exited"). */
  reason: string;
}

/** Payload of `connection-restored`: a call found the server gone and connected to it again. */
export interface McpConnectionRestoredEvent {
  /** The server's `name`. */
  server: string;
  /** Process id of the new server process (stdio), or `null` (HTTP). */
  processId: number | null;
}

/** Events of an `McpServerConnection`. */
export interface McpServerConnectionEvents {
  'connection-lost': (event: McpConnectionLostEvent) => void;
  'connection-restored': (event: McpConnectionRestoredEvent) => void;
}
