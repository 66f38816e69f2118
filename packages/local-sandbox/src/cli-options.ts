import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { errorMessage, InvalidServerOptionError } from './errors.js';
import type { LocalSandboxServerOptions } from './server/options.js';

/** The environment variable `hopgen-sandbox` takes its fixed API key from. */
export const API_KEY_ENVIRONMENT_VARIABLE = 'HOPGEN_SANDBOX_API_KEY';

/** The command's usage text. */
export const USAGE = `Usage: hopgen-sandbox [--host 127.0.0.1] [--port 7070] [--api-key-file FILE] [--pool-size N]
                      [--isolation bubblewrap|none] [--allow-unlimited] [--quiet]
       hopgen-sandbox --reclaim

Runs a local HopX-compatible sandbox server. Point @hopx-ai/sdk at it with
  Sandbox.create({ template: 'code-interpreter', baseURL, apiKey })

The API key is ${API_KEY_ENVIRONMENT_VARIABLE}, else the first line of --api-key-file, else a new
random key printed at start. It is never taken from the command line, where every local user can
read it with ps. Every sandbox event and every error (rejected keys included) is logged to stderr;
--quiet logs errors only.

--reclaim removes what servers of this user that are no longer running left behind (cgroups,
mounts, sandbox folders, uid leases) without starting a server. Live servers are never touched.

hopgen-sandbox mcp --help: the sandbox as an MCP server (stdio or streamable HTTP).`;

/** What the command line asks for. */
export interface CommandLine {
  /** Print the usage and exit. */
  help: boolean;
  /** Clean up after dead servers instead of starting one. */
  reclaim: boolean;
  /** Log errors only, not sandbox events. */
  quiet: boolean;
  /** Where the API key came from, for the start-up lines (never the key itself). */
  apiKeySource: 'environment' | 'file' | 'generated';
  /** Options for startLocalSandboxServer (without `log`). */
  options: LocalSandboxServerOptions;
}

/** Parses `hopgen-sandbox`'s arguments; a bad one throws an InvalidServerOptionError that names the fix. */
export async function parseCommandLine(
  argv: string[],
  environment: NodeJS.ProcessEnv = process.env,
): Promise<CommandLine> {
  let parsed: ReturnType<typeof parseArguments>;
  try {
    parsed = parseArguments(argv);
  } catch (error) {
    throw new InvalidServerOptionError(`${errorMessage(error)}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values['api-key'] !== undefined) {
    throw new InvalidServerOptionError(
      `--api-key is not accepted: a key on the command line is visible to every local user (ps). Set ${API_KEY_ENVIRONMENT_VARIABLE}, or put the key in a file readable only by you and pass --api-key-file FILE.`,
    );
  }
  const port = values.port === undefined ? 7070 : Number(values.port);
  const poolSize = values['pool-size'] === undefined ? 0 : Number(values['pool-size']);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidServerOptionError(
      `Invalid --port ${values.port}: use a whole number from 0 to 65535.\n${USAGE}`,
    );
  if (!Number.isInteger(poolSize) || poolSize < 0)
    throw new InvalidServerOptionError(
      `Invalid --pool-size ${values['pool-size']}: use a whole number >= 0.\n${USAGE}`,
    );
  const isolation = values.isolation ?? 'bubblewrap';
  if (isolation !== 'bubblewrap' && isolation !== 'none') {
    throw new InvalidServerOptionError(`Invalid --isolation ${isolation}: use bubblewrap or none.\n${USAGE}`);
  }
  let apiKey: string | undefined;
  let apiKeySource: CommandLine['apiKeySource'] = 'generated';
  const fromEnvironment = environment[API_KEY_ENVIRONMENT_VARIABLE];
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    apiKey = fromEnvironment;
    apiKeySource = 'environment';
  } else if (values['api-key-file'] !== undefined) {
    apiKey = await readKeyFile(values['api-key-file']);
    apiKeySource = 'file';
  }
  return {
    help: values.help === true,
    reclaim: values.reclaim === true,
    quiet: values.quiet === true,
    apiKeySource,
    options: {
      port,
      poolSize,
      isolation,
      ...(values['allow-unlimited'] ? { allowUnlimited: true } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
    },
  };
}

function parseArguments(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string' },
      'api-key-file': { type: 'string' },
      'pool-size': { type: 'string' },
      isolation: { type: 'string' },
      'allow-unlimited': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
      reclaim: { type: 'boolean' },
    },
  });
}

async function readKeyFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidServerOptionError(
      `Cannot read --api-key-file ${file}: ${(error as Error).message}. Pass a file that holds the key on its first line.`,
    );
  }
  const key = text.split('\n')[0]?.trim() ?? '';
  if (key === '') {
    throw new InvalidServerOptionError(`--api-key-file ${file} is empty: put the key on its first line.`);
  }
  return key;
}
