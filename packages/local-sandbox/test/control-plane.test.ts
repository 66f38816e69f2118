import { AuthenticationError, Sandbox, SandboxExpiredError } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSandboxesAndClose, startTestServer, type TestServer } from './helpers/local-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ listPageLimit: 2 });
});

afterAll(async () => {
  await expectNoSandboxesAndClose(server);
});

const sdk = () => ({ apiKey: server.apiKey, baseURL: server.baseURL });

describe('control plane through @hopx-ai/sdk', () => {
  it('answers health without a key and rejects a wrong key with 401', async () => {
    expect(await Sandbox.healthCheck(server.baseURL)).toMatchObject({ status: 'ok' });
    const error = await Sandbox.create({ template: 'base', apiKey: 'wrong', baseURL: server.baseURL }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
  });

  it('lists templates with the languages this host really has', async () => {
    const templates = await Sandbox.listTemplates(sdk());
    const names = templates.map((template) => template.name).sort();
    expect(names).toEqual(['base', 'code-interpreter']);
    const codeInterpreter = await Sandbox.getTemplate('code-interpreter', sdk());
    expect(codeInterpreter.name).toBe('code-interpreter');
    const javascript = await Sandbox.listTemplates({ ...sdk(), language: 'javascript' });
    expect(javascript.map((template) => template.name)).toEqual(['code-interpreter']);
  });

  it('creates a usable sandbox, reports it, and deletes it', async () => {
    const sandbox = await server.create({ template: 'base' });
    const info = await sandbox.getInfo();
    expect(info.status).toBe('running');
    expect(info.templateName).toBe('base');
    expect(info.publicHost).toBe(`${server.baseURL}/sandboxes/${sandbox.sandboxId}`);
    expect((await sandbox.runCode('print("ready")')).stdout).toBe('ready\n');
    expect(await sandbox.isHealthy()).toBe(true);
    expect((await sandbox.getAgentInfo()).vm_id).toBe(sandbox.sandboxId);
    expect(await sandbox.getMetricsSnapshot()).toMatchObject({ total_executions: 1 });
    const javascript = await sandbox
      .runCode('1', { language: 'javascript' })
      .catch((caught: unknown) => caught);
    expect(String(javascript)).toMatch(/not available in template base/);
    await sandbox.kill();
    const gone = await sandbox.runCode('print(1)').catch((caught: unknown) => caught);
    expect(gone).toBeInstanceOf(SandboxExpiredError);
  });

  it('lists sandboxes with paging (Sandbox.list, Sandbox.iter) and connects by id', async () => {
    const created: Sandbox[] = [];
    for (let index = 0; index < 5; index++) created.push(await server.create({ template: 'base' }));
    const ids = created.map((sandbox) => sandbox.sandboxId);
    const firstPage = await Sandbox.list({ ...sdk(), limit: 10 });
    expect(firstPage.map((sandbox) => sandbox.sandboxId)).toEqual(ids.slice(0, 2));
    // Without a limit Sandbox.list (which follows no cursor) gets every sandbox, past the page size.
    const everyOne = await Sandbox.list(sdk());
    expect(everyOne.map((sandbox) => sandbox.sandboxId)).toEqual(ids);
    const all: string[] = [];
    for await (const sandbox of Sandbox.iter(sdk())) all.push(sandbox.sandboxId);
    expect(all).toEqual(ids);
    await created[1]!.pause();
    const paused = await Sandbox.list({ ...sdk(), status: 'paused' });
    expect(paused.map((sandbox) => sandbox.sandboxId)).toEqual([ids[1]]);
    const connected = await Sandbox.connect(ids[2]!, server.apiKey, server.baseURL);
    expect((await connected.runCode('print(2 + 2)')).stdout).toBe('4\n');
    await Promise.all(created.map((sandbox) => sandbox.kill()));
    expect(await Sandbox.list(sdk())).toEqual([]);
  });

  it('pauses (frozen, runs refused) and resumes; connect resumes a paused sandbox', async () => {
    const sandbox = await server.create({ template: 'base' });
    await sandbox.runIpython('state = "kept"');
    await sandbox.pause();
    expect((await sandbox.getInfo()).status).toBe('paused');
    await expect(sandbox.runCode('print(1)')).rejects.toThrow(/paused/);
    await sandbox.resume();
    expect((await sandbox.getInfo()).status).toBe('running');
    expect((await sandbox.runIpython('state')).result).toBe("'kept'");
    await sandbox.pause();
    const connected = await Sandbox.connect(sandbox.sandboxId, server.apiKey, server.baseURL);
    expect((await connected.getInfo()).status).toBe('running');
    expect((await connected.runIpython('state')).result).toBe("'kept'");
    await sandbox.kill();
  });

  it('destroys a sandbox when its TTL ends (SandboxExpiredError afterwards); setTimeout extends it', async () => {
    const sandbox = await server.create({ template: 'base', timeoutSeconds: 1 });
    const info = await sandbox.getInfo();
    expect(info.timeoutSeconds).toBe(1);
    expect(Date.parse(info.expiresAt ?? '')).toBeGreaterThan(Date.now());
    const extended = await server.create({ template: 'base', timeoutSeconds: 1 });
    await extended.setTimeout(60);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const error = await sandbox.runCode('print(1)').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SandboxExpiredError);
    await expect(Sandbox.connect(sandbox.sandboxId, server.apiKey, server.baseURL)).rejects.toBeInstanceOf(
      SandboxExpiredError,
    );
    expect((await extended.runCode('print("still here")')).stdout).toBe('still here\n');
    await extended.kill();
  });

  it('hands out a pre-started sandbox from the warm pool and refills it', async () => {
    const pooled = await startTestServer({ poolSize: 1 });
    try {
      await pooled.poolsReady();
      const sandbox = await pooled.create();
      const result = await sandbox.runIpython('import sys\n"pandas" in sys.modules');
      expect(result.result).toBe('True');
      await pooled.poolsReady();
      const second = await pooled.create();
      expect(second.sandboxId).not.toBe(sandbox.sandboxId);
      expect((await second.runCode('print(1)')).stdout).toBe('1\n');
      await Promise.all([sandbox.kill(), second.kill()]);
    } finally {
      await expectNoSandboxesAndClose(pooled);
    }
  });
});
