import { readFile } from 'node:fs/promises';

/** The first ```ts block under README.md's "## Quick start": the code a newcomer copies. */
export async function readmeQuickStart(readmePath: string): Promise<string> {
  const readme = await readFile(readmePath, 'utf8');
  const section = readme.split('\n## Quick start\n')[1];
  const code = section?.match(/```ts\n([\s\S]*?)\n```/)?.[1];
  if (code === undefined)
    throw new Error(`README.md has no \`\`\`ts block under "## Quick start" (${readmePath})`);
  return `${code}\n`;
}

/** A consumer's tsconfig, as `tsc --init` writes it for a Node ESM project. */
export const consumerTsconfig = JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
    include: ['*.ts'],
  },
  null,
  2,
);

/**
 * A consumer file that only type-checks if the packages' declarations reach the consumer: the
 * `@ts-expect-error` lines fail as "unused" when a type degrades to `any`.
 */
export const consumerTypes = `import { AssistantAgent, type ChatResult, type LlmConfig, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { HopXCodeExecutor, type HopXCodeExecutorOptions } from '@hopgen/executors-hopx';
import { type LocalSandboxServer, startLocalSandboxServer } from '@hopgen/local-sandbox';

const options: HopXCodeExecutorOptions = { timeoutMs: 30_000 };
// @ts-expect-error timeoutMs is a number of milliseconds
const misspelt: HopXCodeExecutorOptions = { timeoutMs: 'thirty seconds' };
const scripted: LlmConfig = { modelClient: new ScriptedModelClient({ replies: ['TERMINATE'] }) };
// @ts-expect-error llmConfig is closed: request fields go in requestParameters
const openConfig: LlmConfig = { configList: [{ model: 'gpt-4o-mini' }], top_p: 0.5 };

export async function run(task: string): Promise<ChatResult> {
  const server: LocalSandboxServer = await startLocalSandboxServer();
  const executor = new HopXCodeExecutor({ ...options, baseURL: server.baseURL, apiKey: server.apiKey });
  const assistant = new AssistantAgent({ name: 'assistant', llmConfig: { configList: [{ model: 'gpt-4o-mini' }] } });
  const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', codeExecutionConfig: { executor } });
  // @ts-expect-error humanInputMode takes 'ALWAYS', 'TERMINATE' or 'NEVER'
  new UserProxyAgent({ name: 'other', humanInputMode: 'SOMETIMES' });
  try {
    return await user.initiateChat(assistant, { message: task });
  } finally {
    await executor.close();
    await server.close();
  }
}
void misspelt;
void scripted;
void openConfig;
`;

/** Runs one TypeScript block in a local sandbox and prints the output, or the error's name and message. */
export const typescriptBlock = `import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  const result = await executor.executeCodeBlocks([{ language: 'typescript', code: 'const n: number = 6 * 7;\\nconsole.log(n);' }]);
  console.log(JSON.stringify({ exitCode: result.exitCode, output: result.output }));
} catch (error) {
  console.log(JSON.stringify({ error: error.name, message: error.message }));
} finally {
  await executor.close();
  await server.close();
}
`;
