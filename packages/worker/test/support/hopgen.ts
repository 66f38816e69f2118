// `hopgen worker|submit|jobs ...` for the tests' child processes, from the sources (run with tsx).
import { main } from '../../src/cli.js';

process.exitCode = await main(process.argv.slice(2));
// The worker's pools and timers end with it; other commands end when their work does.
if (process.argv[2] !== 'worker') process.exit(process.exitCode);
