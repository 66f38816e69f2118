/** Root of every error that `@hopgen/server` throws on purpose. */
export class ServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `serve()` was given options it cannot work with; the message names the option and the fix. */
export class ServeOptionsError extends ServerError {}

/**
 * A request the API refuses: carries the HTTP status and a stable `code` for the JSON error body.
 * The message names the problem and what to send instead.
 */
export class RequestError extends ServerError {
  /** The HTTP status to answer with (4xx). */
  readonly status: number;
  /** A stable, machine-readable name of the problem (`token-missing`, `body-too-large`...). */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
