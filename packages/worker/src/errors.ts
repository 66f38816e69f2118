import { HopgenError } from '@hopgen/agents';

/** Root of every error that `@hopgen/worker` throws on purpose; a {@link HopgenError}, so one catch covers hopgen. */
export class HopgenWorkerError extends HopgenError {}

/** Options given to a worker, the job queue or the command line are wrong; the message names the option and the fix. */
export class InvalidWorkerOptionError extends HopgenWorkerError {}

/** No job has the id given; the message says how to list them. */
export class JobNotFoundError extends HopgenWorkerError {}
