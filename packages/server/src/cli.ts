import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Pipeline } from '@hopgen/agents';
import { FileRunStore } from '@hopgen/agents';
import { ServeOptionsError } from './errors.js';
import { type RunningServer, serve } from './serve.js';

const USAGE = `Usage: hopgen serve --pipelines <module> [options]

Serves the HTTP API and the page for the runs of one store.

  --pipelines <module>   A module exporting \`pipelines\` (an array of definePipeline(...)) or a default array
  --store <directory>    FileRunStore directory (default .hopgen/runs)
  --port <number>        Port (default 4311; 0 picks a free one)
  --host <address>       Address to listen on (default 127.0.0.1)
  --allowed-host <host>  Also accept this Host header, e.g. hopgen.internal:8080 (repeatable)
  --allowed-origin <url> Let pages of this origin call the API (CORS; repeatable)
  --cancel-poll-ms <ms>  How often a run this server runs looks for a cancel asked elsewhere (default 1000)

The token comes from HOPGEN_SERVE_TOKEN, or is made up and printed; never pass it on the command line.`;

/** `hopgen serve`: returns the exit code once the server stops (SIGINT or SIGTERM). */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.pipelines) {
    process.stderr.write(`hopgen serve needs --pipelines <module>.\n\n${USAGE}\n`);
    return 2;
  }
  const module = (await import(pathToFileURL(resolve(values.pipelines)).href)) as {
    pipelines?: Pipeline<any, any>[];
    default?: Pipeline<any, any>[];
  };
  const pipelines = module.pipelines ?? module.default;
  if (!Array.isArray(pipelines)) {
    process.stderr.write(
      `${values.pipelines} exports no pipelines: add \`export const pipelines = [definePipeline({ ... })]\`.\n`,
    );
    return 2;
  }
  const port = Number(values.port ?? 4311);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port ${values.port} is not a port: give 0-65535 (0 picks a free one).\n`);
    return 2;
  }
  const cancelPollMs = values['cancel-poll-ms'] === undefined ? undefined : Number(values['cancel-poll-ms']);
  if (
    cancelPollMs !== undefined &&
    !(Number.isInteger(cancelPollMs) && cancelPollMs >= 1 && cancelPollMs <= 2_147_483_647)
  ) {
    process.stderr.write(
      `--cancel-poll-ms ${values['cancel-poll-ms']} is not a number of milliseconds: give 1 to 2147483647 (default 1000).\n`,
    );
    return 2;
  }
  const generated = process.env['HOPGEN_SERVE_TOKEN'] === undefined;
  let server: RunningServer;
  try {
    server = await serve({
      pipelines,
      store: new FileRunStore(values.store ? { directory: values.store } : {}),
      port,
      ...(values.host ? { host: values.host } : {}),
      allowedHosts: values['allowed-host'] ?? [],
      allowedOrigins: values['allowed-origin'] ?? [],
      ...(cancelPollMs === undefined ? {} : { cancelPollMs }),
    });
  } catch (error) {
    // Mistakes of the person at the keyboard get a sentence, not a stack trace.
    if (error instanceof ServeOptionsError) {
      process.stderr.write(`hopgen serve: ${error.message}\n`);
      return 2;
    }
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      process.stderr.write(
        `hopgen serve: port ${port} is in use. Stop what listens there, or pick another with --port (0 picks a free one).\n`,
      );
      return 1;
    }
    throw error;
  }
  // The token goes in the fragment: browsers never send it to a server, so it stays out of logs.
  process.stdout.write(
    `hopgen serve: ${server.url}/#token=${generated ? server.token : '<HOPGEN_SERVE_TOKEN>'}\n` +
      `  API: ${server.url}/api (Authorization: Bearer <token>), OpenAPI: ${server.url}/openapi.json\n` +
      `  pipelines: ${pipelines.map((pipeline) => pipeline.name).join(', ')}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      pipelines: { type: 'string' },
      store: { type: 'string' },
      'cancel-poll-ms': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      'allowed-origin': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
