// Example 11: OpenTelemetry. hopgen records GenAI-convention spans for the run, each turn, model call, tool
// call, code block and speaker selection, printed here as a tree.   npx tsx examples/11-opentelemetry.ts
import {
  AssistantAgent,
  configureTracing,
  GroupChat,
  GroupChatManager,
  includesTerminate,
  registerFunction,
  UserProxyAgent,
} from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import * as tracing from '@opentelemetry/sdk-trace-base';
import { printSpanTree } from './demo/support/span-tree.js';
import { analystScript, exchangeRate } from './scripted/11-opentelemetry.js';
import { llmConfigFor } from './scripted/llm-config.js';

// In production: register your SDK (e.g. NodeTracerProvider with an OTLP exporter) and hopgen uses it.
const exporter = new tracing.InMemorySpanExporter();
const spanProcessors = [new tracing.SimpleSpanProcessor(exporter)];
configureTracing({ tracerProvider: new tracing.BasicTracerProvider({ spanProcessors }) });
const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  await executor.check(); // fails here, naming what to start, rather than at the first code block
  const codeExecutionConfig = { executor };
  const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', codeExecutionConfig });
  const analyst = new AssistantAgent({ name: 'analyst', llmConfig: llmConfigFor(analystScript) });
  registerFunction(exchangeRate, { caller: analyst, executor: user });
  const agents = [user, analyst];
  const groupchat = new GroupChat({ agents, speakerSelectionMethod: 'round_robin', maxRound: 8 });
  const manager = new GroupChatManager({ groupchat, isTerminationMsg: includesTerminate });
  await user.initiateChat(manager, { message: 'Convert invoices of 250, 1200 and 75 EUR to USD.' });
} finally {
  await executor.close();
  await server.close();
}
printSpanTree(exporter.getFinishedSpans());
