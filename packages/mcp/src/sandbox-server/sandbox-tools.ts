import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '@hopgen/agents/internal';
import type { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** Where sandboxes keep their files (HopX and the local sandbox alike). */
export const SANDBOX_WORKSPACE = '/workspace';

/** The part of `HopXCodeExecutor` the sandbox tools use. */
export type SandboxToolsExecutor = Pick<
  HopXCodeExecutor,
  'executeCodeBlocks' | 'readFile' | 'writeFile' | 'listFiles'
>;

/**
 * An MCP server whose tools drive one sandbox through `executor`: run code (Python state is kept between
 * calls), read, write and list files, and download the images the code displayed.
 */
export function createSandboxMcpServer(executor: SandboxToolsExecutor): McpServer {
  const server = new McpServer({ name: 'hopgen-sandbox', version: '0.1.0' });
  // Images saved on this machine by name, so a client can fetch those and no other host file.
  const images = new Map<string, string>();

  server.registerTool(
    'run_code',
    {
      description:
        'Runs code in an isolated sandbox with no network. Python keeps its variables and imports between calls; files in /workspace persist. Images the code shows (matplotlib) are saved; fetch them with download_image.',
      inputSchema: {
        language: z
          .string()
          .default('python')
          .describe('python, bash, javascript, typescript or go (if the sandbox has it)'),
        code: z.string().describe('The code to run'),
      },
    },
    async ({ language, code }) =>
      answer(async () => {
        // PNG files the code wrote (savefig) are saved too, so download_image can hand them out.
        const result = await executor.executeCodeBlocks([{ language, code }], { collectImageFiles: true });
        const saved = new Set<string>();
        for (const file of result.outputFiles ?? []) {
          const name = path.basename(file);
          images.set(name, file);
          saved.add(name);
        }
        // The executor names each image relative to its output folder; the client knows it only by name.
        const output = result.output.replace(/^Image saved to (.+)$/gm, (line, savedAs: string) => {
          const name = path.basename(savedAs);
          return saved.has(name) ? `Image saved as ${name} (download_image)` : line;
        });
        const outcome = result.exitCode === 0 ? 'execution succeeded' : 'execution failed';
        // A failing program is an answer, not a tool failure: the client sees it as AutoGen's agents do.
        return text(`exitcode: ${result.exitCode} (${outcome})\nCode output: ${output}`);
      }),
  );

  server.registerTool(
    'read_file',
    {
      description: 'Reads a text file (UTF-8) from the sandbox.',
      inputSchema: { path: z.string().describe('Path in the sandbox, for example /workspace/data.csv') },
    },
    async ({ path: file }) => answer(async () => text(await executor.readFile(file))),
  );

  server.registerTool(
    'write_file',
    {
      description: 'Writes a text file in the sandbox, replacing it if it exists.',
      inputSchema: {
        path: z.string().describe('Path in the sandbox, for example /workspace/data.csv'),
        content: z.string().describe('The whole text of the file'),
      },
    },
    async ({ path: file, content }) =>
      answer(async () => {
        await executor.writeFile(file, content);
        return text(`Wrote ${Buffer.byteLength(content)} bytes to ${file}.`);
      }),
  );

  server.registerTool(
    'list_files',
    {
      description:
        'Lists a directory of the sandbox: one line per entry, "d" for directories, size in bytes.',
      inputSchema: { path: z.string().default(SANDBOX_WORKSPACE).describe('Directory in the sandbox') },
    },
    async ({ path: directory }) =>
      answer(async () => {
        const entries = await executor.listFiles(directory);
        const lines = entries
          .sort((left, right) => left.name.localeCompare(right.name))
          .map((entry) => `${entry.directory ? 'd' : '-'} ${entry.sizeBytes} ${entry.path}`);
        return text(lines.length === 0 ? `${directory} is empty.` : lines.join('\n'));
      }),
  );

  server.registerTool(
    'download_image',
    {
      description:
        'Returns an image that run_code saved, by the name run_code gave (for example "abc123.png").',
      inputSchema: { name: z.string().describe('The image name from run_code') },
    },
    async ({ name }) =>
      answer(async () => {
        const file = images.get(name);
        if (file === undefined) {
          const known = [...images.keys()];
          return text(
            `No image named ${name}. ${known.length === 0 ? 'No code has shown an image yet.' : `Images: ${known.join(', ')}.`}`,
            true,
          );
        }
        const data = (await readFile(file)).toString('base64');
        return { content: [{ type: 'image', data, mimeType: 'image/png' }] };
      }),
  );
  return server;
}

function text(value: string, isError = false): CallToolResult {
  return { content: [{ type: 'text', text: value }], ...(isError ? { isError: true } : {}) };
}

/** Runs a tool body; an executor failure becomes an error result the client's model can read. */
async function answer(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    return text(errorMessage(error), true);
  }
}
