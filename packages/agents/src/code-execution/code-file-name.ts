import { isAbsolute, relative, resolve, sep } from 'node:path';

// A first-line comment that names a file. With the `filename:` prefix any name is taken; without it
// only something that looks like a file name (`# report.py`), so an ordinary first-line comment such
// as `# compute the primes` is not mistaken for one (AutoGen takes any first-line comment).
const patterns = [
  /^<!--\s*(filename:)?\s*(.+?)\s*-->$/,
  /^\/\*\s*(filename:)?\s*(.+?)\s*\*\/$/,
  /^\/\/\s*(filename:)?\s*(.+?)$/,
  /^#\s*(filename:)?\s*(.+?)$/,
];
const looksLikeFileName = /^[\w./-]+\.[A-Za-z0-9]+$/;

/** The file name a code block asks to be saved as, from its first-line comment, or undefined. */
export function fileNameFromCode(code: string): string | undefined {
  const firstLine = (code.split('\n', 1)[0] ?? '').trim();
  for (const pattern of patterns) {
    const match = pattern.exec(firstLine);
    if (!match) continue;
    const name = (match[2] ?? '').trim();
    if (match[1] || looksLikeFileName.test(name)) return name;
    return undefined;
  }
  return undefined;
}

/** Resolves `fileName` inside `workDir`, or returns undefined when it would land outside. */
export function resolveInside(workDir: string, fileName: string): string | undefined {
  const target = resolve(workDir, fileName);
  const path = relative(resolve(workDir), target);
  if (path === '' || path === '..' || path.startsWith(`..${sep}`) || isAbsolute(path)) return undefined;
  return target;
}
