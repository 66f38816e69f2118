import { type ContentPart, contentToString } from '../message.js';
import type { CodeBlock, CodeExtractor } from './types.js';

// AutoGen's CODE_BLOCK_PATTERN: the language is word characters only (so ```c++ does not match),
// and the closing fence must be on its own line (so ``` x=1 ``` on one line does not match).
const codeBlockPattern = /```[ \t]*([\p{L}\p{N}_]+)?[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*```/gu;

const shellCommands = new Set([
  'apt',
  'apt-get',
  'bash',
  'cat',
  'cd',
  'chmod',
  'cp',
  'curl',
  'echo',
  'export',
  'grep',
  'ls',
  'mkdir',
  'mv',
  'npm',
  'npx',
  'pip',
  'pip3',
  'pwd',
  'rm',
  'sh',
  'touch',
  'wget',
]);

/**
 * Guesses the language of an untagged block. AutoGen compiles the code as Python; a TypeScript
 * library cannot, so this is a documented heuristic: `python …`, `pip …` and lines that start with
 * a common shell command or a shebang are `sh`; code with JavaScript-only syntax (`const`, `let`,
 * `console.log`, `=>`) is `javascript`; anything else is `python`.
 */
export function inferLanguage(code: string): string {
  const trimmed = code.trimStart();
  if (/^(python3? |pip)/.test(trimmed) || /^#!.*\b(ba|z)?sh\b/.test(trimmed)) return 'sh';
  const firstWord = trimmed.split(/\s/, 1)[0] ?? '';
  if (shellCommands.has(firstWord) && !/^\w+\s*[=(.[]/.test(trimmed)) return 'sh';
  if (/\b(const|let)\s+\w+\s*=|console\.log\(|=>\s*[{(\w]|\bfunction\s+\w+\s*\(/.test(code))
    return 'javascript';
  return 'python';
}

/** Finds fenced code blocks in Markdown, with AutoGen's fence rules. */
export class MarkdownCodeExtractor implements CodeExtractor {
  extractCodeBlocks(content: string | ContentPart[] | null | undefined): CodeBlock[] {
    const text = contentToString(content ?? null);
    const blocks: CodeBlock[] = [];
    for (const match of text.matchAll(codeBlockPattern)) {
      const code = match[2] ?? '';
      const tag = match[1]?.toLowerCase();
      blocks.push({ code, language: tag || inferLanguage(code) });
    }
    return blocks;
  }
}
