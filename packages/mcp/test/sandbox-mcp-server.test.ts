import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAndWait, repositoryRoot } from './support/test-servers.js';

// The real command, `hopgen-sandbox mcp`, run from its sources.
const command = [process.execPath, '--import', 'tsx', 'packages/local-sandbox/src/cli.ts', 'mcp'];

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n');
}

describe('hopgen-sandbox mcp over stdio', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ name: 'sandbox-test', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: command[0]!,
        args: command.slice(1),
        cwd: repositoryRoot,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SECRET_OF_THE_HOST: 'do-not-leak' },
        stderr: 'ignore',
      }),
    );
  });
  afterAll(async () => {
    await client.close();
  });

  it('offers the sandbox as five tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'run_code',
      'read_file',
      'write_file',
      'list_files',
      'download_image',
    ]);
  });

  it('runs code with Python state kept between calls, in other languages too', async () => {
    expect(textOf(await call(client, 'run_code', { code: 'x = 41' }))).toBe(
      'exitcode: 0 (execution succeeded)\nCode output: ',
    );
    expect(textOf(await call(client, 'run_code', { language: 'python', code: 'print(x + 1)' }))).toBe(
      'exitcode: 0 (execution succeeded)\nCode output: 42\n',
    );
    expect(textOf(await call(client, 'run_code', { language: 'bash', code: 'echo from bash; exit 3' }))).toBe(
      'exitcode: 3 (execution failed)\nCode output: from bash\n',
    );
  });

  it("keeps the host's environment out of the sandbox", async () => {
    const result = await call(client, 'run_code', {
      code: 'import os\nprint(os.environ.get("SECRET_OF_THE_HOST"))',
    });
    expect(textOf(result)).toBe('exitcode: 0 (execution succeeded)\nCode output: None\n');
  });

  it('writes, reads and lists files that code in the sandbox sees', async () => {
    expect(
      textOf(await call(client, 'write_file', { path: '/workspace/notes.txt', content: 'héllo\n' })),
    ).toBe('Wrote 7 bytes to /workspace/notes.txt.');
    expect(textOf(await call(client, 'read_file', { path: '/workspace/notes.txt' }))).toBe('héllo\n');
    expect(textOf(await call(client, 'list_files', {}))).toContain('- 7 /workspace/notes.txt');
    const counted = await call(client, 'run_code', {
      code: "print(len(open('/workspace/notes.txt').read()))",
    });
    expect(textOf(counted)).toBe('exitcode: 0 (execution succeeded)\nCode output: 6\n');
    const missing = await call(client, 'read_file', { path: '/workspace/absent.txt' });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/absent\.txt/);
  });

  it('saves the images code shows and hands them out by name only', async () => {
    const result = await call(client, 'run_code', {
      code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()',
    });
    const match = /Image saved as (\S+\.png) \(download_image\)/.exec(textOf(result));
    expect(match, textOf(result)).not.toBeNull();
    const image = await call(client, 'download_image', { name: match![1] });
    const part = image.content[0]!;
    expect(part.type).toBe('image');
    const bytes = Buffer.from((part as { data: string }).data, 'base64');
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const outside = await call(client, 'download_image', { name: '../../../etc/passwd' });
    expect(outside.isError).toBe(true);
    expect(textOf(outside)).toBe(`No image named ../../../etc/passwd. Images: ${match![1]}.`);
  });
});

describe('hopgen-sandbox mcp over streamable HTTP', () => {
  let url: string;
  let token: string;
  let server: ReturnType<typeof spawn>;
  beforeAll(async () => {
    server = spawn(command[0]!, [...command.slice(1), '--transport', 'http', '--port', '0'], {
      cwd: repositoryRoot,
      env: { ...process.env, HOPGEN_SANDBOX_MCP_TOKEN: 'a-token-for-the-test' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /MCP_URL=(\S+)\nMCP_TOKEN=(\S+)\n/.exec(output);
        if (found) {
          url = found[1]!;
          token = found[2]!;
          resolve();
        }
      });
      server.once('exit', (code) => reject(new Error(`hopgen-sandbox mcp exited with ${code}: ${output}`)));
    });
  });
  afterAll(async () => {
    await killAndWait(server);
  });

  async function connect(headers: Record<string, string>): Promise<Client> {
    const client = new Client({ name: 'sandbox-http-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return client;
  }

  it('listens on 127.0.0.1 with the token from the environment, and refuses clients without it', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(token).toBe('a-token-for-the-test');
    await expect(connect({})).rejects.toThrow(/401|Bearer/);
    await expect(connect({ Authorization: 'Bearer wrong-token-for-the-tes' })).rejects.toThrow(/401|Bearer/);
  });

  it('gives each client its own sandbox', async () => {
    const first = await connect({ Authorization: `Bearer ${token}` });
    const second = await connect({ Authorization: `Bearer ${token}` });
    try {
      await call(first, 'run_code', { code: 'secret = 7' });
      expect(textOf(await call(first, 'run_code', { code: 'print(secret)' }))).toBe(
        'exitcode: 0 (execution succeeded)\nCode output: 7\n',
      );
      expect(textOf(await call(second, 'run_code', { code: "print('secret' in globals())" }))).toBe(
        'exitcode: 0 (execution succeeded)\nCode output: False\n',
      );
    } finally {
      await first.close();
      await second.close();
    }
  });
});
