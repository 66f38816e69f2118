import { parseArgs } from 'node:util';
import { InvalidServerOptionError } from './errors.js';
import { startLocalSandboxServer } from './server/server.js';

const MCP_USAGE = `Usage: hopgen-sandbox mcp [--transport stdio|http] [--host 127.0.0.1] [--port 7071] [--pool-size N] [--isolation bubblewrap|none] [--allow-unlimited]

Offers a local sandbox as MCP tools (run_code, read_file, write_file, list_files, download_image).
  stdio: one client on stdin/stdout, for example an IDE's MCP settings:
    { "command": "npx", "args": ["hopgen-sandbox", "mcp"] }
  http:  streamable HTTP at http://127.0.0.1:7071/mcp; clients send "Authorization: Bearer <token>".
         The token is HOPGEN_SANDBOX_MCP_TOKEN, or a random one printed at start.
Needs the @hopgen/mcp package next to @hopgen/local-sandbox.`;

/** What `hopgen-sandbox mcp` uses of `@hopgen/mcp`, loaded only for this command. */
interface McpPackage {
  serveSandboxOverMcp(options: {
    transport: 'stdio' | 'http';
    executor: { baseURL: string; apiKey: string };
    host?: string;
    port?: number;
  }): Promise<{ url?: string; token?: string; closed: Promise<void>; close(): Promise<void> }>;
}

/** `hopgen-sandbox mcp`: starts a private local sandbox server and offers its sandboxes over MCP. */
export async function runMcpCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      transport: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'pool-size': { type: 'string' },
      isolation: { type: 'string' },
      'allow-unlimited': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.error(MCP_USAGE);
    return;
  }
  const transport = values.transport ?? 'stdio';
  const port = values.port === undefined ? 7071 : Number(values.port);
  const poolSize = values['pool-size'] === undefined ? 0 : Number(values['pool-size']);
  const isolation = values.isolation ?? 'bubblewrap';
  if (transport !== 'stdio' && transport !== 'http')
    throw new InvalidServerOptionError(`Invalid --transport ${transport}: use stdio or http.\n${MCP_USAGE}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidServerOptionError(`Invalid --port ${values.port}.\n${MCP_USAGE}`);
  if (!Number.isInteger(poolSize) || poolSize < 0)
    throw new InvalidServerOptionError(`Invalid --pool-size ${values['pool-size']}.\n${MCP_USAGE}`);
  if (isolation !== 'bubblewrap' && isolation !== 'none')
    throw new InvalidServerOptionError(
      `Invalid --isolation ${isolation}: use bubblewrap or none.\n${MCP_USAGE}`,
    );

  const mcp = await loadMcpPackage();
  const log = (message: string) => console.error(`[hopgen-sandbox mcp] ${message}`);
  // The sandbox server is private to this process: loopback, a random port and a random key.
  const sandboxes = await startLocalSandboxServer({
    poolSize,
    isolation,
    ...(values['allow-unlimited'] ? { allowUnlimited: true } : {}),
    log,
  });
  const served = await mcp.serveSandboxOverMcp({
    transport,
    executor: { baseURL: sandboxes.baseURL, apiKey: sandboxes.apiKey },
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
  });
  const stop = async () => {
    await served.close();
    await sandboxes.close();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));
  if (transport === 'http') {
    // stdout carries nothing else in this mode, so scripts can read these two lines.
    console.log(`MCP_URL=${served.url}`);
    console.log(`MCP_TOKEN=${served.token}`);
  }
  log(`serving a sandbox over MCP (${transport})`);
  await served.closed;
  await sandboxes.close();
}

async function loadMcpPackage(): Promise<McpPackage> {
  // A variable specifier keeps @hopgen/mcp an optional peer: the sandbox server never needs it otherwise.
  const specifier = '@hopgen/mcp';
  try {
    return (await import(specifier)) as McpPackage;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new InvalidServerOptionError(
        '`hopgen-sandbox mcp` needs the @hopgen/mcp package: install it next to @hopgen/local-sandbox (npm install @hopgen/mcp).',
        { cause: error },
      );
    }
    throw error;
  }
}
