import { describe, expect, it } from 'vitest';
import { InvalidExecutorOptionError } from '../src/errors.js';
import { LanguageTable } from '../src/languages.js';
import { transpileTypeScript } from '../src/typescript-transpiler.js';

describe('LanguageTable', () => {
  it('maps every documented fence tag, case-insensitively', () => {
    const table = new LanguageTable();
    const command = (tag: string) => table.resolve(tag)?.command;
    for (const tag of ['python', 'py', 'python3', 'PY']) expect(command(tag)).toBe('python3 -u {file}');
    for (const tag of ['bash', 'sh', 'shell']) expect(command(tag)).toBe('bash {file}');
    for (const tag of ['javascript', 'js', 'node', 'typescript', 'ts'])
      expect(command(tag)).toBe('node {file}');
    expect(command('go')).toBe('go run {file}');
    expect(table.resolve('ts')?.prepare).toBeTypeOf('function');
    expect(table.resolve('cobol')).toBeUndefined();
  });

  it('lets overrides replace defaults and add aliases, and rejects aliases that go nowhere', () => {
    const table = new LanguageTable({
      python: { fileExtension: '.py', command: 'pypy3 {file}' },
      snake: 'py',
    });
    expect(table.resolve('snake')?.command).toBe('pypy3 {file}');
    expect(() => new LanguageTable({ a: 'b', b: 'a' })).toThrow(InvalidExecutorOptionError);
    expect(() => new LanguageTable({ rust: 'nothing' })).toThrow(/languages\.rust/);
  });
});

describe('transpileTypeScript', () => {
  it('strips types to JavaScript that Node runs as CommonJS', async () => {
    const result = await transpileTypeScript(
      'import { join } from "node:path";\nconst x: number = 1;\nconsole.log(join("a", String(x)));',
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.javascript).toContain('require("node:path")');
      expect(result.javascript).not.toContain(': number');
    }
  });

  it('names line and column of each syntax error', async () => {
    expect(await transpileTypeScript('let a = 1;\nlet b: string = ;')).toEqual({
      ok: false,
      error: 'TypeScript syntax error at line 2, column 17: Expression expected. (TS1109)',
    });
  });
});
