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
export class InvalidOptionError extends LocalSandboxError {}

/** A sandbox could not be created (workspace, cgroups or mounts failed); the message says which step. */
export class SandboxCreateError extends LocalSandboxError {}

/** An operation was attempted on a sandbox that has already been destroyed. */
export class SandboxDestroyedError extends LocalSandboxError {
  constructor(id: string) {
    super(`Sandbox ${id} has been destroyed; create a new sandbox.`);
  }
}
