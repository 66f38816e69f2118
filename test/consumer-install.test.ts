import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAITestServer,
  startOpenAITestServer,
} from '../packages/agents/test/support/openai-test-server.js';
import {
  consumerTsconfig,
  consumerTypes,
  readmeQuickStart,
  typescriptBlock,
} from './support/consumer-files.js';
import { expectSuccess, runCommand } from './support/run-command.js';

// Installs the packed tarballs with plain npm into an empty folder outside the workspace, as a user
// would, and runs the README quick start there against a wire-level fake model and a real local sandbox.

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
// One value in every package.json (and the root's); the owner changes it in all of them at once.
const HOMEPAGE = 'https://github.com/hopgen/hopgen';
const REPOSITORY_URL = `git+${HOMEPAGE}.git`;
const primesProgram = [
  'primes = []',
  'n = 2',
  'while len(primes) < 100:',
  '    if all(n % p for p in primes):',
  '        primes.append(n)',
  '    n += 1',
  'print(sum(primes))',
].join('\n');

const QUICK_START_PACKAGES = ['agents', 'executors-hopx', 'local-sandbox'];
const version = (name: string): string =>
  JSON.parse(readFileSync(join(repositoryRoot, 'packages', name, 'package.json'), 'utf8')).version;

let consumer: string;
let tarballFiles: string[] = [];
let model: OpenAITestServer;
let environment: NodeJS.ProcessEnv;

const npm = (commandArguments: string[]) =>
  runCommand('npm', commandArguments, { cwd: consumer, env: environment, timeoutMs: 180_000 });
const npmInstall = (...packages: string[]) =>
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages]);
const node = (commandArguments: string[]) =>
  runCommand(process.execPath, commandArguments, { cwd: consumer, env: environment, timeoutMs: 120_000 });

beforeAll(async () => {
  consumer = await mkdtemp(join(tmpdir(), 'hopgen-consumer-'));
  // The sandbox's user must traverse TMPDIR to reach its workspace (mkdtemp makes it 0700).
  await chmod(consumer, 0o711);
  const tarballs = join(consumer, 'tarballs');
  await mkdir(tarballs);
  expectSuccess(
    await runCommand(
      join(repositoryRoot, 'node_modules/.bin/pnpm'),
      ['-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballs],
      { cwd: repositoryRoot, timeoutMs: 180_000 },
    ),
    'pnpm -r pack',
  );
  model = await startOpenAITestServer((request) => {
    const transcript = JSON.stringify(request.body.messages);
    return transcript.includes('exitcode: 0 (execution succeeded)')
      ? { content: 'The sum of the first 100 primes is 24133.\n\nTERMINATE' }
      : { content: `\`\`\`python\n${primesProgram}\n\`\`\`` };
  });
  environment = { ...process.env, OPENAI_API_KEY: 'sk-consumer-test', OPENAI_BASE_URL: model.baseURL };
  environment.TMPDIR = consumer;
  for (const name of ['HOPX_API_KEY', 'HOPX_BASE_URL', 'INIT_CWD', 'NODE_OPTIONS', 'npm_config_prefix']) {
    delete environment[name];
  }
  await writeFile(
    join(consumer, 'package.json'),
    '{ "name": "consumer", "private": true, "type": "module" }\n',
  );
  tarballFiles = (await readdir(tarballs)).map((file) => join(tarballs, file));
  // The quick start's three packages only, so the installed size is the quick start's.
  const quickStart = QUICK_START_PACKAGES.map((name) => `./tarballs/hopgen-${name}-${version(name)}.tgz`);
  expectSuccess(await npmInstall(...quickStart), 'npm install');
}, 400_000);

afterAll(async () => {
  await model?.close();
  if (consumer !== undefined) await rm(consumer, { recursive: true, force: true });
});

describe('the packed packages in an empty npm project', () => {
  it('packs every package with exports, types, files, engines, repository and licence', async () => {
    const packages = readdirSync(join(repositoryRoot, 'packages'));
    expect(tarballFiles).toHaveLength(packages.length);
    for (const tarball of tarballFiles) {
      const listing = await runCommand('tar', ['-tzf', tarball], { cwd: consumer });
      const files = listing.stdout.split('\n');
      expect(files, tarball).toEqual(
        expect.arrayContaining(['package/LICENSE', 'package/dist/index.d.ts', 'package/dist/index.js']),
      );
      expect(
        files.filter((file) => file.endsWith('.map')),
        tarball,
      ).toEqual([]);
      const manifest = JSON.parse(
        (await runCommand('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: consumer })).stdout,
      );
      expect(manifest.homepage, tarball).toMatch(new RegExp(`^${HOMEPAGE}/tree/main/packages/`));
      expect(manifest.bugs, tarball).toEqual({ url: `${HOMEPAGE}/issues` });
      expect(manifest.exports['.'], tarball).toEqual({
        types: './dist/index.d.ts',
        import: './dist/index.js',
      });
      expect(manifest.types, tarball).toBe('./dist/index.d.ts');
      expect(manifest.engines, tarball).toEqual({ node: '>=20' });
      expect(manifest.license, tarball).toBe('MIT');
      expect(manifest.repository, tarball).toMatchObject({
        type: 'git',
        url: REPOSITORY_URL,
        // The hopgen command is the unscoped `hopgen` package, in packages/cli.
        directory:
          manifest.name === 'hopgen' ? 'packages/cli' : `packages/${manifest.name.slice('@hopgen/'.length)}`,
      });
      expect(manifest.files, tarball).toContain('dist');
      expect(JSON.stringify(manifest), tarball).not.toContain('workspace:');
    }
  });

  it('has every package with its declarations, without TypeScript or type packages at run time', async () => {
    for (const name of ['agents', 'executors-hopx', 'local-sandbox']) {
      const directory = join(consumer, 'node_modules/@hopgen', name);
      expect(existsSync(join(directory, 'dist/index.js')), name).toBe(true);
      expect(existsSync(join(directory, 'dist/index.d.ts')), name).toBe(true);
      expect(existsSync(join(directory, 'LICENSE')), name).toBe(true);
    }
    expect(existsSync(join(consumer, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules/@types/ws'))).toBe(false);
    const size = await runCommand('du', ['-sm', 'node_modules'], { cwd: consumer });
    console.log(`consumer-install: the quick start's node_modules takes ${size.stdout.split('\t')[0]} MB`);
  });

  it('runs the README quick start as plain JavaScript with node', async () => {
    await writeFile(
      join(consumer, 'quick-start.mjs'),
      await readmeQuickStart(join(repositoryRoot, 'README.md')),
    );
    const before = model.requests.length;
    const run = expectSuccess(await node(['quick-start.mjs']), 'node quick-start.mjs');
    expect(run.stdout).toContain('24133');
    expect(run.stdout).toContain('termination-message');
    // The second model call carries what the sandbox printed: the code really ran there.
    expect(JSON.stringify(model.requests[before + 1]?.body.messages)).toContain('Code output: 24133');
  });

  it('tells the user to install typescript when a TypeScript block runs without it', async () => {
    await writeFile(join(consumer, 'typescript-block.mjs'), typescriptBlock);
    const run = expectSuccess(await node(['typescript-block.mjs']), 'node typescript-block.mjs');
    const printed = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(printed.error).toBe('TypeScriptUnavailableError');
    expect(printed.message).toContain('npm install typescript@6');
  });

  describe('with tsx, typescript 6 and @types/node installed', () => {
    beforeAll(async () => {
      expectSuccess(
        await npmInstall('--save-dev', 'tsx', 'typescript@6', '@types/node'),
        'npm install --save-dev tsx typescript@6 @types/node',
      );
    }, 200_000);

    it('runs the README quick start as TypeScript with tsx', async () => {
      await writeFile(
        join(consumer, 'quick-start.ts'),
        await readmeQuickStart(join(repositoryRoot, 'README.md')),
      );
      // The first run left its answers in the model client's disk cache; without it the model is asked again.
      await rm(join(consumer, '.cache'), { recursive: true, force: true });
      const before = model.requests.length;
      const run = expectSuccess(
        await node([join(consumer, 'node_modules/tsx/dist/cli.mjs'), 'quick-start.ts']),
        'tsx quick-start.ts',
      );
      expect(run.stdout).toContain('24133');
      expect(JSON.stringify(model.requests[before + 1]?.body.messages)).toContain('Code output: 24133');
    });

    it('type-checks a consumer file and the quick start with tsc', async () => {
      await writeFile(join(consumer, 'tsconfig.json'), consumerTsconfig);
      await writeFile(join(consumer, 'consumer.ts'), consumerTypes);
      const check = await node([join(consumer, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
      expect(check.stdout + check.stderr).toBe('');
      expect(check.exitCode).toBe(0);
    });

    it('runs a TypeScript block once typescript is installed', async () => {
      const run = expectSuccess(await node(['typescript-block.mjs']), 'node typescript-block.mjs');
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
        exitCode: 0,
        output: '42\n',
      });
    });

    it('names the version when the installed typescript (7) has no transpiler API', async () => {
      expectSuccess(await npmInstall('--save-dev', '--force', 'typescript@7'), 'npm install typescript@7');
      const run = expectSuccess(await node(['typescript-block.mjs']), 'node typescript-block.mjs');
      const printed = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
      expect(printed.error).toBe('TypeScriptUnavailableError');
      expect(printed.message).toMatch(/^The installed typescript 7\.\S+ has no transpileModule function\./);
      expect(printed.message).toContain('npm install typescript@6');
    });
  });
});
