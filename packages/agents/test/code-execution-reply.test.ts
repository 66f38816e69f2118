import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssistantAgent,
  ConversableAgent,
  LocalCommandLineCodeExecutor,
  type Message,
  UserProxyAgent,
} from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoLastNMessages } from '../src/reply/code-execution-reply.js';

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'hopgen-reply-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function runner(lastNMessages?: number | 'auto') {
  return new ConversableAgent({
    name: 'runner',
    humanInputMode: 'NEVER',
    silent: true,
    codeExecutionConfig: {
      executor: new LocalCommandLineCodeExecutor({ workDir }),
      ...(lastNMessages === undefined ? {} : { lastNMessages }),
    },
  });
}

const code = (text: string): Message => ({ role: 'user', content: `\`\`\`python\nprint("${text}")\n\`\`\`` });

describe('code execution reply', () => {
  it("'auto' scans the messages received since the agent last spoke", async () => {
    const messages: Message[] = [
      code('old'),
      { role: 'assistant', content: 'I spoke' },
      { role: 'user', content: 'no code' },
    ];
    expect(autoLastNMessages(messages)).toBe(1);
    expect(await runner().generateReply({ messages })).toBe('');
    const withCode = [...messages, code('new')];
    expect(await runner().generateReply({ messages: withCode })).toBe(
      'exitcode: 0 (execution succeeded)\nCode output: new\n',
    );
  });

  it('a number scans that many messages, newest first, and 0 scans none', async () => {
    const messages: Message[] = [code('first'), code('second'), { role: 'user', content: 'text' }];
    expect(await runner(2).generateReply({ messages })).toBe(
      'exitcode: 0 (execution succeeded)\nCode output: second\n',
    );
    expect(await runner(1).generateReply({ messages })).toBe('');
    expect(await runner(0).generateReply({ messages })).toBe('');
  });

  it('reports failures as execution failed', async () => {
    const reply = await runner().generateReply({
      messages: [{ role: 'user', content: '```python\nimport sys\nprint("bad")\nsys.exit(2)\n```' }],
    });
    expect(reply).toBe('exitcode: 2 (execution failed)\nCode output: bad\n');
  });
});

describe('two-agent chat with real code execution', () => {
  it('an assistant writes code for the first 100 primes, the user proxy runs it, the chat ends on TERMINATE', async () => {
    const model = new ScriptedModelClient({
      replies: [
        [
          'Plan: generate primes by trial division and sum the first 100.',
          '```python',
          'primes = []',
          'n = 2',
          'while len(primes) < 100:',
          '    if all(n % p for p in primes if p * p <= n):',
          '        primes.append(n)',
          '    n += 1',
          'print(sum(primes))',
          '```',
        ].join('\n'),
        'The sum of the first 100 prime numbers is 24133.\nTERMINATE',
      ],
    });
    const assistant = new AssistantAgent({
      name: 'assistant',
      llmConfig: { modelClient: model },
      silent: true,
    });
    const user = new UserProxyAgent({
      name: 'user_proxy',
      humanInputMode: 'NEVER',
      isTerminationMsg: (message) =>
        String(message.content ?? '')
          .trimEnd()
          .endsWith('TERMINATE'),
      codeExecutionConfig: { executor: new LocalCommandLineCodeExecutor({ workDir }) },
      silent: true,
    });
    const events: string[] = [];
    user.on('code-execution-end', ({ result }) => events.push(`exit ${result.exitCode}`));
    const result = await user.initiateChat(assistant, {
      message: 'Calculate the first 100 prime numbers and find their sum.',
    });
    expect(result.chatHistory.map((message) => message.role)).toEqual([
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    expect(result.chatHistory[2]?.content).toBe('exitcode: 0 (execution succeeded)\nCode output: 24133\n');
    expect(result.terminationReason).toBe('termination-message');
    expect(result.summary).toBe('The sum of the first 100 prime numbers is 24133.\n');
    expect(events).toEqual(['exit 0']);
    // The model saw the real execution result.
    expect(model.requests[1]?.messages.at(-1)).toMatchObject({
      role: 'user',
      content: expect.stringContaining('24133'),
    });
  });
});
