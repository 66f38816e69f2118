import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCommandLineCodeExecutor } from '@hopgen/agents';
import { silencePip } from '@hopgen/agents/internal';
import { describe, expect, it } from 'vitest';

describe('silencePip (AutoGen silence_pip)', () => {
  it('adds -qqq to lines that start with pip install, in shell languages and IPython-style python', () => {
    expect(silencePip('pip install numpy\necho done', 'bash')).toBe('pip install -qqq numpy\necho done');
    expect(silencePip('pip install a\npip install b', 'sh')).toBe('pip install -qqq a\npip install -qqq b');
    expect(silencePip('!pip install pandas\nimport pandas', 'python')).toBe(
      '!pip install -qqq pandas\nimport pandas',
    );
    expect(silencePip('! pip install pandas', 'python')).toBe('! pip install -qqq pandas');
  });

  it('leaves lines alone as AutoGen does: already quiet, indented, mid-line, or another language', () => {
    expect(silencePip('pip install -qqq numpy', 'bash')).toBe('pip install -qqq numpy');
    expect(silencePip('  pip install numpy', 'bash')).toBe('  pip install numpy');
    expect(silencePip('cd x && pip install numpy', 'bash')).toBe('cd x && pip install numpy');
    expect(silencePip('pip install numpy', 'python')).toBe('pip install numpy');
    expect(silencePip('!pip install numpy', 'py')).toBe('!pip install numpy');
    expect(silencePip('pip install numpy', 'javascript')).toBe('pip install numpy');
  });

  it('is applied by LocalCommandLineCodeExecutor before the block runs', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'hopgen-silence-pip-'));
    try {
      const executor = new LocalCommandLineCodeExecutor({ workDir });
      const result = await executor.executeCodeBlocks([
        { language: 'bash', code: 'pip() { echo "pip $*"; }\npip install numpy' },
      ]);
      expect(result).toMatchObject({ exitCode: 0, output: 'pip install -qqq numpy\n' });
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
