/**
 * Example 5: a sequential pipeline with initiateChats. DataEngineer prepares the data, DataScientist
 * analyses it, ReportWriter writes the summary; each chat's summary is carried over into the next
 * chat's first message ("Context: ..."). The sandbox, and so customers.csv, is shared.
 *
 *   npx tsx examples/05-sequential-pipeline.ts
 */
import { AssistantAgent, contentToString, initiateChats, UserProxyAgent } from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import * as scripts from './scripted/05-sequential-pipeline.js';
import { llmConfigFor } from './scripted/llm-config.js';

const tasks = [
  'Generate a customer table (customer_id, age, tenure_months, monthly_spend, support_tickets, churned) with some duplicates and invalid values, clean it, save it as customers.csv and report the row counts and the churn rate.',
  'Using customers.csv, find what drives churn: rank the features by their correlation with churn.',
  'Write a short report for management: the data, what drives churn, one recommendation.',
];
const coder = (role: string) =>
  `You are ${role}. Your Python runs in a sandbox shared by the pipeline (files persist). One \`\`\`python block per reply; print every result. When your stage is done, state its result with the numbers, then reply TERMINATE.`;
const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const engineer = new AssistantAgent({
    name: 'DataEngineer',
    systemMessage: coder('DataEngineer, who prepares clean data'),
    llmConfig: llmConfigFor(scripts.dataEngineerScript),
  });
  const scientist = new AssistantAgent({
    name: 'DataScientist',
    systemMessage: coder('DataScientist, who finds what the data says'),
    llmConfig: llmConfigFor(scripts.dataScientistScript),
  });
  const writer = new AssistantAgent({
    name: 'ReportWriter',
    systemMessage:
      'You are ReportWriter. Write a short Markdown report from the context, with its numbers only.',
    llmConfig: llmConfigFor(scripts.reportWriterScript),
  });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
    codeExecutionConfig: { executor },
  });
  const results = await initiateChats([
    { sender: user, recipient: engineer, message: tasks[0]!, summaryMethod: 'last_msg' },
    { sender: user, recipient: scientist, message: tasks[1]!, summaryMethod: 'last_msg' },
    { sender: user, recipient: writer, message: tasks[2]!, summaryMethod: 'last_msg', maxTurns: 1 },
  ]);
  console.log(`\nFinal report:\n${results.at(-1)?.summary}`);
} finally {
  await executor.close();
  await server.close();
}
