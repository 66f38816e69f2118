import type { Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSandboxesAndClose, startTestServer, type TestServer } from './helpers/local-server.js';

let server: TestServer;
let sandbox: Sandbox;

beforeAll(async () => {
  server = await startTestServer();
  sandbox = await server.create({ envVars: { FROM_CREATE: 'created' } });
});

afterAll(async () => {
  await sandbox?.kill();
  await expectNoSandboxesAndClose(server);
});

const show =
  'import os; print(os.environ.get("FROM_CREATE"), os.environ.get("COLOR"), os.environ.get("SIZE"))';

describe('sandbox env vars through @hopx-ai/sdk', () => {
  it('applies create-time env vars and env.get/set/update/delete to later runs of every kind', async () => {
    expect(await sandbox.env.getAll()).toEqual({ FROM_CREATE: 'created' });
    await sandbox.env.set('COLOR', 'blue');
    expect(await sandbox.env.get('COLOR')).toBe('blue');
    expect((await sandbox.runCode(show)).stdout).toBe('created blue None\n');
    await sandbox.env.update({ SIZE: 'L', COLOR: 'red' });
    expect((await sandbox.runCode(show)).stdout).toBe('created red L\n');
    expect((await sandbox.runIpython(show)).stdout).toBe('created red L\n');
    expect((await sandbox.commands.run('echo "$COLOR-$SIZE"')).stdout).toBe('red-L\n');
    expect((await sandbox.runCode('console.log(process.env.COLOR)', { language: 'javascript' })).stdout).toBe(
      'red\n',
    );
    await sandbox.env.delete('COLOR');
    expect(await sandbox.env.getAll()).toEqual({ FROM_CREATE: 'created', SIZE: 'L' });
    expect((await sandbox.runCode(show)).stdout).toBe('created None L\n');
    expect((await sandbox.runIpython(show)).stdout).toBe('created None L\n');
    await sandbox.env.setAll({ ONLY: '1' });
    expect(await sandbox.env.getAll()).toEqual({ ONLY: '1' });
    expect((await sandbox.runCode(show)).stdout).toBe('None None None\n');
  });

  it('lets a request env override the sandbox env for that run only', async () => {
    await sandbox.env.setAll({ COLOR: 'green' });
    expect((await sandbox.runCode(show, { env: { COLOR: 'pink' } })).stdout).toBe('None pink None\n');
    expect((await sandbox.runCode(show)).stdout).toBe('None green None\n');
  });

  it('does not leak the host environment into sandboxed code', async () => {
    process.env.HOPGEN_HOST_SECRET = 'host-only';
    try {
      const code = 'import os, json; print(json.dumps(dict(os.environ)))';
      for (const result of [await sandbox.runCode(code), await sandbox.runIpython(code)]) {
        const environment = JSON.parse(result.stdout) as Record<string, string>;
        expect(environment.HOPGEN_HOST_SECRET).toBeUndefined();
        expect(environment.HOME).toBe('/workspace');
        // The offline pip shim comes first in a sandbox without network.
        expect(environment.PATH).toBe('/opt/hopgen/offline/bin:/usr/local/bin:/usr/bin:/bin');
      }
    } finally {
      delete process.env.HOPGEN_HOST_SECRET;
    }
  });
});
