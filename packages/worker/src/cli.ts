import { parseArgs } from 'node:util';
import { type JsonValue, readRunEvents } from '@hopgen/agents';
import { PostgresRunStore } from '@hopgen/postgres';
import { HopgenWorkerError } from './errors.js';
import { JobQueue } from './job-queue.js';
import type { JobRecord, JobState } from './job-record.js';
import { loadPipelines } from './load-pipelines.js';
import { startWorker } from './pipeline-worker.js';

const DATABASE_HELP = `  --database <url>     PostgreSQL connection string (default: DATABASE_URL). No password is needed on
                       the command line: use a Unix socket (postgresql:///hopgen?host=/var/run/postgresql),
                       PGPASSWORD or ~/.pgpass.
  --schema <name>      Schema of hopgen's tables (default hopgen)`;

const WORKER_USAGE = `Usage: hopgen worker --pipelines <module> [options]

Runs pipeline jobs from the PostgreSQL queue until SIGINT or SIGTERM (then finishes the running ones).

  --pipelines <module>   A module exporting \`pipelines\` (an array of definePipeline(...)) or a default array
  --concurrency <n>      Jobs at once in this worker (default 2)
  --max-sandboxes <n>    Live sandboxes allowed across all workers; give every worker the same (default no limit)
  --takeover-ms <ms>     Missed heartbeat after which another worker takes a dead worker's jobs (default 15000)
  --cancel-poll-ms <ms>  How often a running job looks for a cancel stored with its run, e.g. by hopgen serve (default 1000)
${DATABASE_HELP}

Sandboxes: HOPX_BASE_URL and HOPX_API_KEY (environment only).`;

const SUBMIT_USAGE = `Usage: hopgen submit <pipeline> [--input <json>] [options]

Queues a job and shows its progress until it ends (exit code 0 when it completed).

  --input <json>         The pipeline's input, as JSON (default none)
  --max-attempts <n>     Attempts before the job is dead, take-overs included (default 5)
  --no-wait              Print the job id and return at once
${DATABASE_HELP}`;

const JOBS_USAGE = `Usage: hopgen jobs list [--state <state>] | show <id> | cancel <id> [options]

  list                   Every job with its state (queued, running, retrying, completed, cancelled, dead)
  show <id>              One job: attempts, take-overs, worker, result or error
  cancel <id>            Cancels a job; a running one is stopped with its sandbox
  --json                 Print JSON instead of text
${DATABASE_HELP}`;

const database = {
  database: { type: 'string' },
  schema: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { database?: string | undefined; schema?: string | undefined };
const connection = (values: Values) => ({
  ...(values.database === undefined ? {} : { connectionString: values.database }),
  ...(values.schema === undefined ? {} : { schema: values.schema }),
});

/** Runs a command, turning hopgen's errors (bad options, unknown jobs) into a message and exit code 1. */
async function guarded(usage: string, action: () => Promise<number>): Promise<number> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${error.message}\n\n${usage}\n`);
      return 2;
    }
    if (error instanceof HopgenWorkerError || error instanceof Error) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function whole(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new HopgenWorkerError(`--${name} must be a whole number of at least 1 (got ${value}).`);
  return number;
}

/** `hopgen worker`: runs jobs until SIGINT or SIGTERM; resolves to the exit code. */
export function worker(argv: string[]): Promise<number> {
  return guarded(WORKER_USAGE, async () => {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...database,
        pipelines: { type: 'string' },
        concurrency: { type: 'string' },
        'max-sandboxes': { type: 'string' },
        'takeover-ms': { type: 'string' },
        'cancel-poll-ms': { type: 'string' },
      },
    });
    if (values.help) {
      process.stdout.write(`${WORKER_USAGE}\n`);
      return 0;
    }
    if (!values.pipelines) {
      process.stderr.write(`hopgen worker needs --pipelines <module>.\n\n${WORKER_USAGE}\n`);
      return 2;
    }
    const concurrency = whole('concurrency', values.concurrency);
    const maxSandboxes = whole('max-sandboxes', values['max-sandboxes']);
    const takeoverMs = whole('takeover-ms', values['takeover-ms']);
    const cancelPollMs = whole('cancel-poll-ms', values['cancel-poll-ms']);
    const running = await startWorker({
      ...connection(values),
      pipelines: await loadPipelines(values.pipelines),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(maxSandboxes === undefined ? {} : { maxSandboxes }),
      ...(takeoverMs === undefined ? {} : { takeoverMs }),
      ...(cancelPollMs === undefined ? {} : { cancelPollMs }),
    });
    running.on('job-started', (event) =>
      process.stdout.write(
        `job ${event.jobId} ${event.resumed ? 'resumed' : 'started'} (${event.pipeline})\n`,
      ),
    );
    running.on('job-ended', (event) =>
      process.stdout.write(`job ${event.jobId} ${event.state}${event.error ? `: ${event.error}` : ''}\n`),
    );
    running.on('jobs-taken-over', (event) =>
      process.stdout.write(`took over jobs ${event.jobIds.join(', ')}\n`),
    );
    process.stdout.write(`worker ${running.id} ready (pid ${process.pid})\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await running.stop();
    return 0;
  });
}

/** `hopgen submit`: queues a job and follows it; resolves to 0 when it completed. */
export function submit(argv: string[]): Promise<number> {
  return guarded(SUBMIT_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...database,
        input: { type: 'string' },
        'max-attempts': { type: 'string' },
        'no-wait': { type: 'boolean' },
      },
    });
    if (values.help) {
      process.stdout.write(`${SUBMIT_USAGE}\n`);
      return 0;
    }
    const [pipeline] = positionals;
    if (pipeline === undefined) {
      process.stderr.write(`hopgen submit needs the pipeline's name.\n\n${SUBMIT_USAGE}\n`);
      return 2;
    }
    let input: JsonValue | undefined;
    if (values.input !== undefined) {
      try {
        input = JSON.parse(values.input) as JsonValue;
      } catch (error) {
        throw new HopgenWorkerError(
          `--input is not JSON (${(error as Error).message}). Quote it: --input '{"topic":"tides"}'.`,
        );
      }
    }
    const maxAttempts = whole('max-attempts', values['max-attempts']);
    const queue = new JobQueue(connection(values));
    try {
      const job = await queue.submit(pipeline, input, maxAttempts === undefined ? {} : { maxAttempts });
      process.stdout.write(`job ${job.id} queued (${pipeline})\n`);
      if (values['no-wait']) return 0;
      const store = new PostgresRunStore(connection(values));
      const follow = new AbortController();
      // Messages as the run writes them; the job's state from the queue. Both end when the job does.
      const progress = (async () => {
        while (!(await store.loadRun(job.id))) {
          if (follow.signal.aborted) return;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        for await (const event of readRunEvents(store, job.id, { signal: follow.signal })) {
          if (event.type === 'message-sent') {
            const data = event.data as { sender?: string; recipient?: string };
            process.stdout.write(`  ${data.sender ?? '?'} -> ${data.recipient ?? '?'}\n`);
          } else if (event.type === 'code-execution-end') {
            process.stdout.write('  code block ran\n');
          }
        }
      })().catch(() => {});
      const ended = await queue.wait(job.id, {
        onChange: (changed) => process.stdout.write(`job ${changed.id} ${describe(changed)}\n`),
      });
      follow.abort();
      await progress;
      await store.close();
      if (ended.result)
        for (const chat of ended.result.chats) process.stdout.write(`  summary: ${chat.summary}\n`);
      return ended.state === 'completed' ? 0 : 1;
    } finally {
      await queue.close();
    }
  });
}

function describe(job: JobRecord): string {
  const where = job.workerId ? ` on worker ${job.workerId}` : '';
  if (job.state === 'running') return `running${where} (attempt ${job.attempts} of ${job.maxAttempts})`;
  if (job.state === 'retrying' || job.state === 'dead')
    return `${job.state}: ${job.error ?? 'unknown error'}`;
  return job.state;
}

/** `hopgen jobs list|show|cancel`: resolves to the exit code. */
export function jobs(argv: string[]): Promise<number> {
  return guarded(JOBS_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...database, state: { type: 'string' }, json: { type: 'boolean' } },
    });
    const [action, id] = positionals;
    if (values.help || action === undefined) {
      process.stdout.write(`${JOBS_USAGE}\n`);
      return values.help ? 0 : 2;
    }
    const queue = new JobQueue(connection(values));
    try {
      if (action === 'list') {
        const listed = await queue.list(values.state ? { state: values.state as JobState } : {});
        if (values.json) process.stdout.write(`${JSON.stringify(listed)}\n`);
        else {
          process.stdout.write(
            `${['ID'.padEnd(36), 'PIPELINE'.padEnd(16), 'STATE'.padEnd(10), 'ATTEMPTS', 'TAKEOVERS'].join(' ')}\n`,
          );
          for (const job of listed) {
            process.stdout.write(
              `${[job.id.padEnd(36), job.pipeline.padEnd(16), job.state.padEnd(10), String(job.attempts).padEnd(8), job.takeovers].join(' ')}\n`,
            );
          }
        }
        return 0;
      }
      if ((action === 'show' || action === 'cancel') && id !== undefined) {
        const job = action === 'show' ? await queue.get(id) : await queue.cancel(id);
        if (values.json) process.stdout.write(`${JSON.stringify(job)}\n`);
        else
          process.stdout.write(
            `job ${job.id} (${job.pipeline}): ${describe(job)}${job.cancelRequested && job.state === 'running' ? ', cancelling' : ''}\n`,
          );
        if (action === 'show' && !values.json && job.result) {
          for (const chat of job.result.chats) process.stdout.write(`  summary: ${chat.summary}\n`);
        }
        return 0;
      }
      process.stderr.write(
        `Unknown jobs action ${action}${id === undefined ? ' (or the job id is missing)' : ''}.\n\n${JOBS_USAGE}\n`,
      );
      return 2;
    } finally {
      await queue.close();
    }
  });
}

/** `hopgen worker|submit|jobs ...` in one entry: `argv[0]` names the command. */
export function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'worker') return worker(rest);
  if (command === 'submit') return submit(rest);
  if (command === 'jobs') return jobs(rest);
  process.stdout.write(`${WORKER_USAGE}\n\n${SUBMIT_USAGE}\n\n${JOBS_USAGE}\n`);
  return Promise.resolve(command === undefined || command === '--help' ? 0 : 2);
}
