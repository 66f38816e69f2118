export { HopgenWorkerError, InvalidWorkerOptionError, JobNotFoundError } from './errors.js';
export { JobQueue, type JobQueueOptions, type ListJobsOptions, type SubmitJobOptions } from './job-queue.js';
export type { JobRecord, JobResult, JobState } from './job-record.js';
export { PipelineWorker, startWorker, type WorkerEvents, type WorkerOptions } from './pipeline-worker.js';
export type { SandboxServiceOptions } from './run-sandboxes.js';
