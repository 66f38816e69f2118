/** A command's module: `main(argv)` runs it and resolves to the exit code. */
export interface CommandModule {
  main(argv: string[]): Promise<number>;
}

/** One `hopgen <command>`: what it does and the package that holds it, loaded only when used. */
export interface Command {
  /** One line for `hopgen --help`. */
  summary: string;
  /** The npm package to install when it is missing. */
  packageName: string;
  /** Imports the command's module; rejects when its package is not installed. */
  load(): Promise<CommandModule>;
}

/** Every command. Each lives in its own package, an optional peer dependency of `hopgen`. */
export const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'Serve the HTTP API and the page to start, watch, answer and approve runs',
    packageName: '@hopgen/server',
    load: () => import('@hopgen/server/cli'),
  },
  worker: {
    summary: 'Run pipeline jobs from the PostgreSQL queue (taking over jobs of dead workers)',
    packageName: '@hopgen/worker',
    load: async () => ({ main: (await import('@hopgen/worker/cli')).worker }),
  },
  submit: {
    summary: 'Queue a pipeline job and show its progress until it ends',
    packageName: '@hopgen/worker',
    load: async () => ({ main: (await import('@hopgen/worker/cli')).submit }),
  },
  jobs: {
    summary: 'List, show or cancel pipeline jobs',
    packageName: '@hopgen/worker',
    load: async () => ({ main: (await import('@hopgen/worker/cli')).jobs }),
  },
};
