import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PreflightError } from '../src/errors.js';
import { isSearchableByOthers, resolveBaseDirectory } from '../src/isolation/base-directory.js';

let privateDirectory: string;
const originalTmpdir = process.env['TMPDIR'];

beforeEach(async () => {
  privateDirectory = await mkdtemp(path.join(tmpdir(), 'hopgen-private-'));
  await chmod(privateDirectory, 0o700);
});

afterEach(async () => {
  if (originalTmpdir === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = originalTmpdir;
  await rm(privateDirectory, { recursive: true, force: true });
});

describe('sandbox base directory', () => {
  it('tells private directories from searchable ones', async () => {
    expect(await isSearchableByOthers('/tmp')).toBe(true);
    expect(await isSearchableByOthers(privateDirectory)).toBe(false);
    expect(await isSearchableByOthers(path.join(privateDirectory, 'below'))).toBe(false);
  });

  it('falls back to /tmp when TMPDIR is private, as mktemp -d makes it', async () => {
    process.env['TMPDIR'] = privateDirectory;
    expect(await resolveBaseDirectory(undefined)).toBe('/tmp');
  });

  it('refuses a private baseDirectory with a message that names the fix', async () => {
    await expect(resolveBaseDirectory(privateDirectory)).rejects.toBeInstanceOf(PreflightError);
    await expect(resolveBaseDirectory(privateDirectory)).rejects.toThrow(/chmod o\+x/);
    expect(await resolveBaseDirectory('/tmp')).toBe('/tmp');
  });
});
