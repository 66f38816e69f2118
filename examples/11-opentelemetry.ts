/**
 * Example 11: OpenTelemetry traces. hopgen records a span for the run, each agent's turn, each model
 * call, tool call and code block (with its sandbox id) and each speaker selection, named by the GenAI
 * semantic conventions. Here the spans go to the SDK's in-memory exporter and are printed as a tree;
 * in production, register your SDK (e.g. NodeTracerProvider with an OTLP exporter) and hopgen uses it.
 *
 *   npx tsx examples/11-opentelemetry.ts
 */
import {
  AssistantAgent,
  configureTracing,
  defineTool,
  GroupChat,
  GroupChatManager,
  includesTerminate,
  registerFunction,
  UserProxyAgent,
} from '@hopgen/agents';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startLocalSandboxServer } from '@hopgen/local-sandbox';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { analystScript } from './scripted/11-opentelemetry.js';
import { llmConfigFor } from './scripted/llm-config.js';

const exporter = new InMemorySpanExporter();
configureTracing({
  tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
});

const exchangeRate = defineTool({
  name: 'exchange_rate',
  description: 'EUR to the given currency',
  parameters: z.object({ currency: z.string() }),
  execute: ({ currency }) => ({ currency, perEuro: 1.08 }),
});

const server = await startLocalSandboxServer();
const executor = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
try {
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    codeExecutionConfig: { executor },
  });
  const analyst = new AssistantAgent({ name: 'analyst', llmConfig: llmConfigFor(analystScript) });
  registerFunction(exchangeRate, { caller: analyst, executor: user });
  const manager = new GroupChatManager({
    groupchat: new GroupChat({ agents: [user, analyst], speakerSelectionMethod: 'round_robin', maxRound: 8 }),
    isTerminationMsg: includesTerminate,
  });
  await user.initiateChat(manager, { message: 'Convert invoices of 250, 1200 and 75 EUR to USD.' });
} finally {
  await executor.close();
  await server.close();
}

// The span tree: each span under its parent, with the attributes that break cost and time down per agent.
const spans = exporter.getFinishedSpans();
const children = (parent: ReadableSpan | undefined) =>
  spans.filter((span) => span.parentSpanContext?.spanId === parent?.spanContext().spanId);
const shown = [
  'gen_ai.agent.name',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'hopgen.sandbox.id',
  'hopgen.speaker.name',
];
function print(span: ReadableSpan, depth: number): void {
  const attributes = shown
    .filter((key) => span.attributes[key] !== undefined)
    .map((key) => `${key}=${span.attributes[key]}`);
  const status = span.status.code === 2 ? ' [ERROR]' : '';
  console.log(`${'  '.repeat(depth)}${span.name}${status}  ${attributes.join(' ')}`);
  for (const child of children(span)) print(child, depth + 1);
}
console.log('\nSpans:');
for (const root of children(undefined)) print(root, 0);
