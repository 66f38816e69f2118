/**
 * Example 5: a sequential pipeline with initiateChats. DataEngineer prepares the data,
 * DataScientist analyses it, ReportWriter writes the summary; each chat's summary is carried over
 * into the next chat's first message ("Context: ..."). The sandbox, and so customers.csv, is shared.
 *
 *   npx tsx examples/05-sequential-pipeline.ts
 */
import { AssistantAgent, contentToString, initiateChats, UserProxyAgent } from '@hopgen/agents';
import {
  dataEngineerScript,
  dataScientistScript,
  reportWriterScript,
} from './scripted/05-sequential-pipeline.js';
import { runExample } from './support/run-example.js';

const stages = [
  'Generate a realistic customer table (customer_id, age, tenure_months, monthly_spend, support_tickets, churned) with some duplicates and invalid values, clean it, save it as customers.csv and report the row counts and the churn rate.',
  'Using customers.csv from the previous step, find what drives churn: compare churned and retained customers and rank the features by their correlation with churn.',
  'Write a short report for management from the findings: the data, what drives churn, one recommendation.',
];

await runExample(
  {
    slug: 'sequential-pipeline',
    title: 'Sequential pipeline with carryover',
    task: stages.join(' → '),
    scripts: {
      DataEngineer: dataEngineerScript,
      DataScientist: dataScientistScript,
      ReportWriter: reportWriterScript,
    },
  },
  async ({ runtime, renderer, watch, recorder }) => {
    const executor = runtime.createExecutor();
    const coding = (role: string) =>
      `You are ${role}. The user runs your Python in a sandbox shared by the whole pipeline (files such as customers.csv persist). Send one complete \`\`\`python block per reply and print every result. When your stage is done, state its result in one or two sentences with the numbers, then reply TERMINATE.`;
    const dataEngineer = new AssistantAgent({
      name: 'DataEngineer',
      systemMessage: coding('DataEngineer, who prepares clean data'),
      llmConfig: runtime.llmConfig('DataEngineer'),
      renderer,
    });
    const dataScientist = new AssistantAgent({
      name: 'DataScientist',
      systemMessage: coding('DataScientist, who finds what the data says'),
      llmConfig: runtime.llmConfig('DataScientist'),
      renderer,
    });
    const reportWriter = new AssistantAgent({
      name: 'ReportWriter',
      systemMessage:
        'You are ReportWriter. Write a short, plain report in Markdown from the context you are given. Use only the numbers in the context. Do not write code.',
      llmConfig: runtime.llmConfig('ReportWriter'),
      renderer,
    });
    const user = new UserProxyAgent({
      name: 'user',
      humanInputMode: 'NEVER',
      maxConsecutiveAutoReply: 6,
      isTerminationMsg: (message) => contentToString(message.content).includes('TERMINATE'),
      codeExecutionConfig: { executor },
      renderer,
    });
    // Registered before watch(), so a chat is marked before its first message is recorded.
    // A chat starts when the user writes to a new recipient: mark each start for the report.
    let currentRecipient: string | undefined;
    user.on('message-sent', ({ recipient }) => {
      if (recipient.name === currentRecipient) return;
      currentRecipient = recipient.name;
      recorder.beginChat(`user → ${recipient.name}`);
    });
    user.on('chat-terminated', ({ result }) => {
      if (result) recorder.endChat(result);
    });

    watch(user, dataEngineer, dataScientist, reportWriter);

    const results = await initiateChats([
      { sender: user, recipient: dataEngineer, message: stages[0], summaryMethod: 'last_msg' },
      { sender: user, recipient: dataScientist, message: stages[1], summaryMethod: 'last_msg' },
      { sender: user, recipient: reportWriter, message: stages[2], maxTurns: 1, summaryMethod: 'last_msg' },
    ]);

    const problems: string[] = [];
    const report = results.at(-1)?.summary ?? '';
    process.stdout.write(`\nFinal report:\n${report}\n`);
    if (!report.trim()) problems.push('The ReportWriter produced no report.');
    const scientistFirst = contentToString(results[1]?.chatHistory[0]?.content);
    if (!scientistFirst.includes('\nContext: \n'))
      problems.push('The carryover did not reach the DataScientist.');
    return { problems };
  },
);
