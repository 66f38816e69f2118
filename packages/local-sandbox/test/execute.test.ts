import { APIError, type Sandbox } from '@hopx-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSandboxesAndClose, startTestServer, type TestServer } from './helpers/local-server.js';

let server: TestServer;
let sandbox: Sandbox;

beforeAll(async () => {
  server = await startTestServer();
  sandbox = await server.create();
});

afterAll(async () => {
  await sandbox?.kill();
  await expectNoSandboxesAndClose(server);
});

describe('runCode (POST /execute)', () => {
  it('runs python, bash and javascript in fresh processes', async () => {
    const python = await sandbox.runCode('import sys\nprint(6 * 7)\nprint("oops", file=sys.stderr)');
    expect(python.stdout).toBe('42\n');
    expect(python.stderr).toBe('oops\n');
    expect(python.exit_code).toBe(0);
    expect(python.success).toBe(true);
    const bash = await sandbox.runCode('echo "$((20 + 1))"; pwd', { language: 'bash' });
    expect(bash.stdout).toBe('21\n/workspace\n');
    const javascript = await sandbox.runCode('console.log([1, 2, 3].map((n) => n * 2).join(","))', {
      language: 'javascript',
    });
    expect(javascript.stdout).toBe('2,4,6\n');
    expect(javascript.exit_code).toBe(0);
  });

  it('keeps no state between /execute calls', async () => {
    await sandbox.runCode('leftover = 1');
    const result = await sandbox.runCode('print("leftover" in globals())');
    expect(result.stdout).toBe('False\n');
  });

  it('reports failing user code as a normal result with a non-zero exit code', async () => {
    const raised = await sandbox.runCode('raise ValueError("boom")');
    expect(raised.success).toBe(false);
    expect(raised.exit_code).toBe(1);
    expect(raised.stderr).toContain('ValueError: boom');
    expect(raised.stderr).not.toContain('runner.py');
    const exited = await sandbox.runCode('import sys; sys.exit(7)');
    expect(exited.exit_code).toBe(7);
    const bash = await sandbox.runCode('exit 3', { language: 'bash' });
    expect(bash.exit_code).toBe(3);
  });

  it('captures output of C code and subprocesses in order', async () => {
    const result = await sandbox.runCode('import os\nprint("a")\nos.system("echo b")\nos.write(1, b"c\\n")');
    expect(result.stdout).toBe('a\nb\nc\n');
  });

  it('applies the request env and working directory', async () => {
    await sandbox.files.mkdir('/workspace/sub');
    const result = await sandbox.runCode('import os; print(os.environ["GREETING"], os.getcwd())', {
      env: { GREETING: 'hi' },
      workingDir: '/workspace/sub',
    });
    expect(result.stdout).toBe('hi /workspace/sub\n');
  });

  it('returns a matplotlib figure as a base64 png', async () => {
    const result = await sandbox.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()');
    expect(result.stderr).toBe('');
    expect(
      Buffer.from(result.png ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(result.richOutputs?.[0]?.type).toBe('image/png');
  });

  it('times out with 408 EXECUTION_TIMEOUT, kills the run, and keeps working', async () => {
    const started = Date.now();
    const error = await sandbox
      .runCode('import time\nopen("/workspace/marker", "w").close()\ntime.sleep(30)\nprint("late")', {
        timeout: 1,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).code).toBe('EXECUTION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5000);
    const after = await sandbox.runCode('print("alive")');
    expect(after.stdout).toBe('alive\n');
    const processes = await sandbox.runCode('ps -eo args | grep -c "[t]ime.sleep" || true', {
      language: 'bash',
    });
    expect(processes.stdout.trim()).toBe('0');
  });

  it('rejects an unknown language with a 400 that lists the available ones', async () => {
    const error = await sandbox.runCode('puts 1', { language: 'ruby' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).statusCode).toBe(400);
    expect((error as APIError).message).toMatch(/Language "ruby" is not available.*python.*bash.*javascript/);
  });
});

describe('pip without network access', () => {
  const noNetworkLine =
    /^pip install: this sandbox has no network access, so nothing can be installed; use the installed packages: .*\bnumpy\b.*\bpandas\b.*\n$/;

  it('answers pip install at once, in one line, with the installed packages', async () => {
    for (const command of [
      'pip install requests',
      'pip3 install -qqq requests',
      'python3 -m pip install --break-system-packages requests',
    ]) {
      const result = await sandbox.runCode(command, { language: 'bash' });
      expect(result.exit_code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(noNetworkLine);
    }
    const fromPython = await sandbox.runCode(
      'import subprocess, sys\nsubprocess.run([sys.executable, "-m", "pip", "install", "requests"])',
    );
    expect(fromPython.stderr).toMatch(noNetworkLine);
  });

  it('leaves the other pip commands to the real pip', async () => {
    const list = await sandbox.runCode('pip list 2>/dev/null', { language: 'bash' });
    expect(list.exit_code).toBe(0);
    expect(list.stdout).toMatch(/^numpy\s+\d/m);
    const version = await sandbox.runCode('python3 -m pip --version', { language: 'bash' });
    expect(version.stdout).toMatch(/^pip \d+\.\d+/);
  });
});

describe('runIpython (POST /execute/ipython)', () => {
  it('keeps variables between calls and returns the final expression as result', async () => {
    await sandbox.runIpython('counter = 40');
    await sandbox.runIpython('counter += 1');
    const result = await sandbox.runIpython('print("value:", counter)\ncounter + 1');
    expect(result.stdout).toBe('value: 41\n');
    expect(result.result).toBe('42');
  });

  it('returns a DataFrame as html and a figure as png', async () => {
    const frame = await sandbox.runIpython(
      'import pandas as pd\npd.DataFrame({"city": ["Oslo"], "temp": [3]})',
    );
    expect(frame.html).toContain('<table');
    expect(frame.html).toContain('Oslo');
    const figure = await sandbox.runIpython('import matplotlib.pyplot as plt\nplt.bar([1, 2], [3, 4])');
    expect(
      Buffer.from(figure.png ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });

  it('kills and restarts the interpreter on timeout (state lost) and then works', async () => {
    await sandbox.runIpython('kept = "before"');
    const error = await sandbox
      .runIpython('while True: pass', { timeout: 1 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).code).toBe('EXECUTION_TIMEOUT');
    const after = await sandbox.runIpython('"kept" in globals()');
    expect(after.result).toBe('False');
    expect(after.exit_code).toBe(0);
  });
});

describe('commands, background processes and streaming', () => {
  it('runs commands.run through bash', async () => {
    const result = await sandbox.commands.run('echo "$0" && ls /workspace >/dev/null && exit 4');
    expect(result.stdout).toBe('bash\n');
    expect(result.exit_code).toBe(4);
  });

  it('lists and kills background processes', async () => {
    const started = await sandbox.runCodeBackground('import time\ntime.sleep(60)', { name: 'sleeper' });
    const running = await sandbox.listProcesses();
    const entry = running.find((process) => process.process_id === started.process_id);
    expect(entry?.status).toBe('running');
    await sandbox.killProcess(started.process_id);
    await expect
      .poll(
        async () =>
          (await sandbox.listProcesses()).find((process) => process.process_id === started.process_id)
            ?.exit_code,
      )
      .toBe(137);
  });

  it('delivers every runCodeStream frame, ending with complete', async () => {
    const frames: Record<string, unknown>[] = [];
    const code =
      'import sys, time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.01)\nprint("err", file=sys.stderr)';
    for await (const frame of sandbox.runCodeStream(code))
      frames.push(frame as unknown as Record<string, unknown>);
    const stdout = frames
      .filter((frame) => frame.type === 'stdout')
      .map((frame) => frame.data)
      .join('');
    expect(stdout).toBe('0\n1\n2\n3\n4\n');
    expect(
      frames
        .filter((frame) => frame.type === 'stderr')
        .map((frame) => frame.data)
        .join(''),
    ).toBe('err\n');
    expect(frames.find((frame) => frame.type === 'result')?.exit_code).toBe(0);
    expect(frames.at(-1)).toMatchObject({ type: 'complete', success: true });
  });
});
