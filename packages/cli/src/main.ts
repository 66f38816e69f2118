import { COMMANDS } from './commands.js';

const HELP = `Usage: hopgen <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`)
  .join('\n')}

Run hopgen <command> --help for a command's options.`;

/** Runs `hopgen <command> ...` and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${HELP}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Unknown command ${name}.\n\n${HELP}\n`);
    return 2;
  }
  let module: Awaited<ReturnType<typeof command.load>>;
  try {
    module = await command.load();
  } catch (error) {
    if (
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String(error).includes(command.packageName)
    ) {
      process.stderr.write(
        `hopgen ${name} needs the package ${command.packageName}: npm install ${command.packageName}\n`,
      );
      return 1;
    }
    throw error;
  }
  return module.main(rest);
}
