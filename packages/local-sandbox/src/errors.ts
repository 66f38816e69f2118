/**
 * Root of every error that `@hopgen/local-sandbox` throws on purpose. Catch this to tell the
 * sandbox server's own failures apart from bugs in user code.
 */
export class LocalSandboxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The host lacks something the isolation backend needs; the message names the fix. */
export class PreflightError extends LocalSandboxError {
  /** Which check failed: `platform`, `arch`, `bwrap`, `bash`, `setpriv`, `nsenter`, `userns`, `cgroups` or `directories`. */
  readonly check: string;
  constructor(check: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.check = check;
  }
}

/** Options passed to a constructor or method are wrong; the message names the option and the fix. */
export class InvalidServerOptionError extends LocalSandboxError {}

/** A sandbox could not be created (workspace, cgroups or mounts failed); the message says which step. */
export class SandboxCreateError extends LocalSandboxError {}

/**
 * The server ran out of file descriptors (EMFILE for the process, ENFILE for the whole system) while
 * starting a sandbox; the message names the limit to raise. What the sandbox had taken was released.
 */
export class FileDescriptorLimitError extends LocalSandboxError {
  /** EMFILE: this process's limit; ENFILE: the system's. */
  readonly code: 'EMFILE' | 'ENFILE';

  constructor(code: 'EMFILE' | 'ENFILE' = 'EMFILE', options?: { cause?: unknown }) {
    super(
      code === 'EMFILE'
        ? 'The sandbox server is out of file descriptors (EMFILE: too many open files). Raise its open-files ' +
            'limit (`ulimit -n 65536` in the shell that starts it, or LimitNOFILE= in its systemd unit), or run ' +
            'fewer sandboxes at once.'
        : 'The host is out of file descriptors (ENFILE: too many open files in the system). Raise fs.file-max ' +
            '(`sysctl -w fs.file-max=...`), or run fewer sandboxes at once.',
      options,
    );
    this.code = code;
  }
}

/** The error code of an out-of-descriptors failure in `error` or its causes, if it is one. */
export function fileDescriptorExhaustion(error: unknown): 'EMFILE' | 'ENFILE' | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'EMFILE' || code === 'ENFILE') return code;
    current = current.cause;
  }
  return undefined;
}

/** An operation was attempted on a sandbox that has already been destroyed. */
export class SandboxDestroyedError extends LocalSandboxError {
  constructor(id: string) {
    super(`Sandbox ${id} has been destroyed; create a new sandbox.`);
  }
}

/** The text of anything thrown: an `Error`'s message, or the thrown value as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A template's fork server (the process sandboxes start from with the template's modules already
 * imported) could not start or stopped; sandboxes of that template start their own interpreter instead.
 */
export class ForkServerError extends LocalSandboxError {
  constructor(template: string, reason: string) {
    super(
      `The fork server of template ${template} ${reason}. Sandboxes of this template start their own Python ` +
        'instead (slower); check that python3 and the template modules import on the host.',
    );
  }
}
