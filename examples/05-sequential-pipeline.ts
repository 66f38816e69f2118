/**
 * Example 5: a sequential pipeline with initiateChats. DataEngineer prepares the data, DataScientist
 * analyses it, ReportWriter writes the summary; each chat's summary is carried over into the next chat's
 * first message ("Context: ..."). The sandbox, and so customers.csv, is shared.
 *   npx tsx examples/05-sequential-pipeline.ts
 */
import { AssistantAgent, includesTerminate, initiateChats, UserProxyAgent } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import * as scripts from './scripted/05-sequential-pipeline.js';
import { llmConfigFor } from './scripted/llm-config.js';
import { pipeline } from './team-prompts.js';

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  // The three stages differ only in name, system message and model.
  const stage = (name: string, systemMessage: string, script: typeof scripts.reportWriterScript) =>
    new AssistantAgent({ name, systemMessage, llmConfig: llmConfigFor(script) });
  const engineer = stage('DataEngineer', pipeline.engineer, scripts.dataEngineerScript);
  const scientist = stage('DataScientist', pipeline.scientist, scripts.dataScientistScript);
  const writer = stage('ReportWriter', pipeline.writer, scripts.reportWriterScript);
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    isTerminationMsg: includesTerminate,
    codeExecutionConfig: { executor },
  });
  const [task1, task2, task3] = pipeline.tasks;
  const results = await initiateChats([
    { sender: user, recipient: engineer, message: task1, summaryMethod: 'last_msg' },
    { sender: user, recipient: scientist, message: task2, summaryMethod: 'last_msg' },
    { sender: user, recipient: writer, message: task3, summaryMethod: 'last_msg', maxTurns: 1 },
  ]);
  console.log(`\nFinal report:\n${results.at(-1)?.summary}`);
} finally {
  await executor.close();
  await server.close();
}
