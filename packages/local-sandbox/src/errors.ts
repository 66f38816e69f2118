/** Base class of every error thrown by `@hopgen/local-sandbox`. */
export class LocalSandboxError extends Error {
  override name = 'LocalSandboxError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The host lacks something the isolation backend needs; the message names the fix. */
export class PreflightError extends LocalSandboxError {
  override name = 'PreflightError';
  /** Which check failed, e.g. `bwrap`, `userns`, `cgroups`, `arch`. */
  readonly check: string;
  constructor(check: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.check = check;
  }
}

/** A sandbox could not be created (workspace, cgroups or mounts failed). */
export class SandboxCreateError extends LocalSandboxError {
  override name = 'SandboxCreateError';
}

/** An operation was attempted on a sandbox that has already been destroyed. */
export class SandboxDestroyedError extends LocalSandboxError {
  override name = 'SandboxDestroyedError';
  constructor(id: string) {
    super(`Sandbox ${id} has been destroyed; create a new sandbox.`);
  }
}

/** A name that must be a safe path component (sandbox id) was not. */
export class InvalidSandboxIdError extends LocalSandboxError {
  override name = 'InvalidSandboxIdError';
  constructor(id: string) {
    super(
      `Invalid sandbox id ${JSON.stringify(id)}: use 1-64 characters from [A-Za-z0-9_-] so it is safe as a directory and cgroup name.`,
    );
  }
}
