import { InvalidServerOptionError } from '../errors.js';

/** Sandbox ids become directory and cgroup names, so they must be safe path components. */
const SANDBOX_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Throws unless `id` is usable as a directory and cgroup name. */
export function assertValidSandboxId(id: string): void {
  if (!SANDBOX_ID_PATTERN.test(id)) {
    throw new InvalidServerOptionError(
      `Invalid sandbox id ${JSON.stringify(id)}: use 1-64 characters from [A-Za-z0-9_-], starting with a letter or digit.`,
    );
  }
}

/** Variables every sandboxed process gets unless the caller overrides them; nothing else of the host leaks in. */
export function defaultSandboxEnvironment(paths: { home: string; tmp: string }): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: paths.home,
    LANG: 'C.UTF-8',
    MPLBACKEND: 'Agg',
    MPLCONFIGDIR: paths.tmp,
  };
}

/** Defaults plus the caller's variables, after checking every name and value can be passed to exec. */
export function buildSandboxEnvironment(
  defaults: Record<string, string>,
  callerEnvironment: Record<string, string> | undefined,
): Record<string, string> {
  const environment: Record<string, string> = { ...defaults };
  for (const [name, value] of Object.entries(callerEnvironment ?? {})) {
    if (name === '' || name.includes('=') || name.includes('\0')) {
      throw new InvalidServerOptionError(
        `Invalid environment variable name ${JSON.stringify(name)}: names must be non-empty without '=' or NUL.`,
      );
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new InvalidServerOptionError(
        `Environment variable ${name} must be a string without NUL characters.`,
      );
    }
    environment[name] = value;
  }
  return environment;
}

/** Where the package's `runtime/` directory is, from `src/isolation/` and `dist/isolation/` alike. */
export const RUNTIME_DIRECTORY_URL = new URL('../../runtime/', import.meta.url);

/** Path of the read-only runtime directory inside a sandbox. */
export const SANDBOX_RUNTIME_PATH = '/opt/hopgen';

/** Path of the writable workspace inside a sandbox. */
export const SANDBOX_WORKSPACE_PATH = '/workspace';
