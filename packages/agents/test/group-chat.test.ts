import {
  AgentNameConflictError,
  ConversableAgent,
  type ConversableAgentOptions,
  GroupChat,
  GroupChatManager,
  InvalidOptionError,
  type Message,
  SpeakerSelectionError,
  type TranscriptRenderer,
  UndefinedNextAgentError,
} from '@hopgen/agents';
import { ScriptedHumanInput, ScriptedModelClient } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';

function agent(name: string, reply = `${name} here`, extra: Partial<ConversableAgentOptions> = {}) {
  return new ConversableAgent({
    name,
    description: `${name} does things`,
    defaultAutoReply: reply,
    humanInputMode: 'NEVER',
    silent: true,
    ...extra,
  });
}

function trio() {
  return [agent('alice'), agent('bob'), agent('carol')] as const;
}

function recordingRenderer(): TranscriptRenderer & { notices: string[] } {
  const notices: string[] = [];
  return { notices, messageReceived() {}, notice: (text: string) => void notices.push(text) };
}

const speakers = (messages: readonly Message[]) => messages.map((message) => message.name);

describe('GroupChat options', () => {
  it("has AutoGen's defaults", () => {
    const [alice, bob] = trio();
    const groupchat = new GroupChat({ agents: [alice, bob] });
    expect(groupchat.messages).toEqual([]);
    expect(groupchat.maxRound).toBe(10);
    expect(groupchat.adminName).toBe('Admin');
    expect(groupchat.funcCallFilter).toBe(true);
    expect(groupchat.speakerSelectionMethod).toBe('auto');
    expect(groupchat.maxRetriesForSelectingSpeaker).toBe(2);
    expect(groupchat.allowRepeatSpeaker).toBe(true);
    expect(groupchat.enableClearHistory).toBe(false);
    expect(groupchat.sendIntroductions).toBe(false);
    expect(groupchat.roleForSelectSpeakerMessages).toBe('system');
    expect(groupchat.agentNames).toEqual(['alice', 'bob']);
    // Fully connected with self loops.
    expect(groupchat.allowedSpeakerTransitionsDict.get(alice)).toEqual([bob, alice]);
  });

  it('renders the selector templates and introductions exactly', () => {
    const [alice, bob] = trio();
    const groupchat = new GroupChat({ agents: [alice, bob] });
    expect(groupchat.selectSpeakerMsg()).toBe(
      "You are in a role play game. The following roles are available:\n                alice: alice does things\nbob: bob does things.\n                Read the following conversation.\n                Then select the next role from ['alice', 'bob'] to play. Only return the role.",
    );
    expect(groupchat.selectSpeakerPrompt([bob])).toBe(
      "Read the above conversation. Then select the next role from ['bob'] to play. Only return the role.",
    );
    expect(groupchat.introductionsMsg()).toBe(
      'Hello everyone. We have assembled a great team today to answer questions and solve tasks. In attendance are:\n\nalice: alice does things\nbob: bob does things',
    );
    expect(groupchat.selectSpeakerAutoNoneTemplate).toContain(
      'The only names that are accepted are {agentlist}.',
    );
    expect(
      new GroupChat({ agents: [alice, bob], selectSpeakerPromptTemplate: '' }).selectSpeakerPrompt(),
    ).toBeNull();
  });

  it("rejects invalid combinations at construction with AutoGen's messages", () => {
    const [alice, bob, carol] = trio();
    const agents = [alice, bob];
    const transitions = new Map([[alice, [bob]]]);
    expect(
      () =>
        new GroupChat({
          agents,
          allowRepeatSpeaker: false,
          allowedOrDisallowedSpeakerTransitions: transitions,
          speakerTransitionsType: 'allowed',
        }),
    ).toThrow(
      "Don't provide both allowedOrDisallowedSpeakerTransitions and allowRepeatSpeaker in group chat. Please leave one of them out.",
    );
    expect(() => new GroupChat({ agents, allowedOrDisallowedSpeakerTransitions: transitions })).toThrow(
      "GroupChat allowedOrDisallowedSpeakerTransitions is set, but speakerTransitionsType is not. Please set speakerTransitionsType to either 'allowed' or 'disallowed'.",
    );
    expect(() => new GroupChat({ agents, speakerTransitionsType: 'maybe' as 'allowed' })).toThrow(
      "GroupChat speakerTransitionsType is set to 'maybe'. It should be 'allowed' or 'disallowed' (case insensitive), or left out.",
    );
    expect(() => new GroupChat({ agents, speakerSelectionMethod: 'wrong' as 'auto' })).toThrow(
      "GroupChat speakerSelectionMethod is set to 'wrong'. It should be one of ['auto', 'manual', 'random', 'round_robin'] (case insensitive), or a function.",
    );
    expect(
      new GroupChat({ agents, speakerSelectionMethod: 'Round_Robin' as 'round_robin' })
        .speakerSelectionMethod,
    ).toBe('round_robin');
    expect(() => new GroupChat({ agents, allowRepeatSpeaker: 'yes' as unknown as boolean })).toThrow(
      'GroupChat allowRepeatSpeaker should be a boolean or an array of agents.',
    );
    expect(() => new GroupChat({ agents, selectSpeakerMessageTemplate: '' })).toThrow(
      'selectSpeakerMessageTemplate cannot be empty or null.',
    );
    expect(() => new GroupChat({ agents, roleForSelectSpeakerMessages: '' })).toThrow(
      'roleForSelectSpeakerMessages cannot be empty or null.',
    );
    // Refused here, where AutoGen (and hopgen before) accepted it and the first selection crashed.
    expect(() => new GroupChat({ agents, roleForSelectSpeakerMessages: 'SockS' })).toThrow(
      "roleForSelectSpeakerMessages is set to 'SockS': the selector's prompt messages would be invalid chat messages. Use one of ['system', 'user', 'assistant']",
    );
    expect(new GroupChat({ agents, roleForSelectSpeakerMessages: 'user' }).roleForSelectSpeakerMessages).toBe(
      'user',
    );
    // null is not 'left out': as AutoGen refuses None, these refuse null, and the message names the option.
    for (const option of [
      'selectSpeakerMessageTemplate',
      'roleForSelectSpeakerMessages',
      'selectSpeakerAutoMultipleTemplate',
      'selectSpeakerAutoNoneTemplate',
    ] as const) {
      expect(() => new GroupChat({ agents, [option]: null as never }), option).toThrow(
        `${option} cannot be empty or null.`,
      );
    }
    expect(
      new GroupChat({ agents, selectSpeakerPromptTemplate: null }).selectSpeakerPromptTemplate,
    ).toBeNull();
    expect(() => new GroupChat({ agents, maxRetriesForSelectingSpeaker: -1 })).toThrow(
      'maxRetriesForSelectingSpeaker must be greater than or equal to zero.',
    );
    expect(() => new GroupChat({ agents, maxRetriesForSelectingSpeaker: 1.5 })).toThrow(
      'maxRetriesForSelectingSpeaker must be a whole number.',
    );
    expect(
      () =>
        new GroupChat({
          agents,
          allowedOrDisallowedSpeakerTransitions: new Map([[alice, [carol]]]),
          speakerTransitionsType: 'allowed',
        }),
    ).toThrow(/allowedOrDisallowedSpeakerTransitions has values not in agents/);
    expect(
      () =>
        new GroupChat({
          agents,
          allowedOrDisallowedSpeakerTransitions: new Map([[alice, [bob, bob]]]),
          speakerTransitionsType: 'allowed',
        }),
    ).toThrow(/Duplicate values found in allowedOrDisallowedSpeakerTransitions for alice\./);
    expect(() => new GroupChat({ agents, maxRound: 0 })).toThrow(InvalidOptionError);
  });

  it('inverts disallowed transitions from the fully connected graph with self loops', () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      allowedOrDisallowedSpeakerTransitions: new Map([[alice, [bob]]]),
      speakerTransitionsType: 'DISALLOWED' as 'disallowed',
    });
    expect(groupchat.allowRepeatSpeaker).toBeUndefined();
    expect(groupchat.allowedSpeakerTransitionsDict.get(alice)).toEqual([alice, carol]);
    expect(groupchat.allowedSpeakerTransitionsDict.get(bob)).toEqual([alice, bob, carol]);
  });
});

describe('GroupChat helpers', () => {
  it('nextAgent wraps around, honours a subset, and starts from the first for outsiders', () => {
    const [alice, bob, carol] = trio();
    const outsider = agent('dave');
    const groupchat = new GroupChat({ agents: [alice, bob, carol] });
    expect(groupchat.nextAgent(alice)).toBe(bob);
    expect(groupchat.nextAgent(carol)).toBe(alice);
    expect(groupchat.nextAgent(alice, [alice, carol])).toBe(carol);
    expect(groupchat.nextAgent(carol, [bob])).toBe(bob);
    expect(groupchat.nextAgent(bob, [bob])).toBe(bob);
    expect(groupchat.nextAgent(outsider)).toBe(alice);
    expect(groupchat.nextAgent(outsider, [bob, carol])).toBe(bob);
    // AutoGen finds the position by name.
    expect(groupchat.nextAgent(agent('bob'))).toBe(carol);
    expect(() => groupchat.nextAgent(alice, [outsider])).toThrow(UndefinedNextAgentError);
    expect(() => groupchat.nextAgent(alice, [])).toThrow(UndefinedNextAgentError);
  });

  it('agentByName finds members, nested members and name conflicts', () => {
    const [alice, bob, carol] = trio();
    const inner = new GroupChat({ agents: [bob, carol], speakerSelectionMethod: 'round_robin' });
    const innerManager = new GroupChatManager({ groupchat: inner, name: 'team', silent: true });
    const outer = new GroupChat({ agents: [alice, innerManager], speakerSelectionMethod: 'round_robin' });
    expect(outer.agentByName('alice')).toBe(alice);
    expect(outer.agentByName('carol')).toBeUndefined();
    expect(outer.agentByName('carol', { recursive: true })).toBe(carol);
    expect(outer.nestedAgents()).toEqual([alice, innerManager, bob, carol]);
    const twin = agent('alice');
    const clash = new GroupChat({ agents: [alice, twin], speakerSelectionMethod: 'round_robin' });
    expect(clash.agentByName('alice')).toBe(alice);
    expect(() => clash.agentByName('alice', { raiseOnNameConflict: true })).toThrow(AgentNameConflictError);
  });

  it('append copies the message, names the speaker and flattens content to text', () => {
    const [alice, bob] = trio();
    const groupchat = new GroupChat({ agents: [alice, bob] });
    const original: Message = { role: 'user', content: [{ type: 'text', text: 'look' }], name: 'someone' };
    groupchat.append(original, alice);
    groupchat.append({ role: 'function', content: 'result', name: 'lookup' }, bob);
    expect(groupchat.messages).toEqual([
      { role: 'user', content: 'look', name: 'alice' },
      { role: 'function', content: 'result', name: 'lookup' },
    ]);
    expect(original.content).toEqual([{ type: 'text', text: 'look' }]);
  });
});

describe('GroupChatManager run loop', () => {
  it('runs round robin in member order until maxRound', async () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      speakerSelectionMethod: 'round_robin',
      maxRound: 5,
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    const events: string[] = [];
    manager.on('speaker-selected', (event) =>
      events.push(`${event.round}:${event.speaker.name}:${event.reason}`),
    );
    const result = await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(speakers(groupchat.messages)).toEqual(['alice', 'bob', 'carol', 'alice', 'bob']);
    expect(events).toEqual([
      '1:bob:round-robin',
      '2:carol:round-robin',
      '3:alice:round-robin',
      '4:bob:round-robin',
    ]);
    expect(result.terminationReason).toBe('max-round');
    expect(result.summary).toBe('bob here');
    // Everybody heard everybody else.
    // Everybody heard everybody else; their own messages are stored as sent.
    expect(carol.chatMessages.get(manager)?.map((message) => `${message.role}:${message.content}`)).toEqual([
      'user:start',
      'user:bob here',
      'assistant:carol here',
      'user:alice here',
      'user:bob here',
    ]);
    expect(result.chatHistory.map((message) => message.content)).toEqual([
      'start',
      'bob here',
      'carol here',
      'alice here',
      'bob here',
    ]);
  });

  it('prints the next speaker through the renderer unless silent', async () => {
    const [alice, bob] = trio();
    const renderer = recordingRenderer();
    const groupchat = new GroupChat({
      agents: [alice, bob],
      speakerSelectionMethod: 'round_robin',
      maxRound: 3,
    });
    const manager = new GroupChatManager({ groupchat, renderer });
    await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(renderer.notices).toEqual(['\nNext speaker: bob\n', '\nNext speaker: alice\n']);
  });

  it('a "TERMINATE" reply ends the chat only with a contains predicate', async () => {
    const run = async (isTerminationMsg?: (message: Message) => boolean) => {
      const alice = agent('alice');
      const bob = agent('bob');
      const carol = agent('carol', 'All done. TERMINATE');
      const groupchat = new GroupChat({ agents: [alice, bob, carol], speakerSelectionMethod: 'round_robin' });
      const manager = new GroupChatManager({
        groupchat,
        silent: true,
        ...(isTerminationMsg ? { isTerminationMsg } : {}),
      });
      const result = await alice.initiateChat(manager, { message: 'start', silent: true });
      return { count: groupchat.messages.length, reason: result.terminationReason };
    };
    expect(await run((message) => String(message.content).includes('TERMINATE'))).toEqual({
      count: 3,
      reason: 'termination-message',
    });
    expect(await run()).toEqual({ count: 10, reason: 'max-round' });
  });

  it('ends when the last speaker is a sink of the transition graph', async () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      allowedOrDisallowedSpeakerTransitions: new Map([
        [alice, [bob]],
        [bob, [carol]],
      ]),
      speakerTransitionsType: 'allowed',
      speakerSelectionMethod: 'round_robin',
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    const reasons: string[] = [];
    manager.on('speaker-selected', (event) => reasons.push(event.reason));
    const result = await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(speakers(groupchat.messages)).toEqual(['alice', 'bob', 'carol']);
    expect(reasons).toEqual(['only-eligible', 'only-eligible']);
    expect(result.terminationReason).toBe('no-eligible-speaker');
  });

  it('a custom selector overrides the graph, may answer a method name, and ends the chat with null', async () => {
    const [alice, bob, carol] = trio();
    let calls = 0;
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      allowedOrDisallowedSpeakerTransitions: new Map([
        [alice, [bob]],
        [bob, [alice]],
        [carol, [alice]],
      ]),
      speakerTransitionsType: 'allowed',
      speakerSelectionMethod: async (last, chat) => {
        calls += 1;
        if (calls === 1) return carol; // not allowed by the graph after alice
        if (calls === 2) return 'round_robin';
        if (calls === 3) return chat.agents[1]!;
        return last === bob ? null : bob;
      },
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    const methods: string[] = [];
    manager.on('speaker-selected', (event) => methods.push(`${event.method}:${event.speaker.name}`));
    const result = await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(speakers(groupchat.messages)).toEqual(['alice', 'carol', 'alice', 'bob']);
    expect(methods).toEqual(['custom:carol', 'round_robin:alice', 'custom:bob']);
    expect(result.terminationReason).toBe('selector-ended');
  });

  it('rejects a custom selector that returns a non-member or a wrong type', async () => {
    const [alice, bob] = trio();
    const outsider = agent('dave');
    for (const [selected, message] of [
      [outsider, 'Custom speaker selection function returned an agent dave not in the group chat.'],
      [42, 'Custom speaker selection function returned an object of type number instead of Agent or str.'],
      ['nope', "GroupChat speakerSelectionMethod is set to 'nope'."],
    ] as const) {
      const groupchat = new GroupChat({
        agents: [alice, bob],
        speakerSelectionMethod: () => selected as unknown as ConversableAgent,
      });
      await expect(
        groupchat.selectSpeaker(alice, new GroupChatManager({ groupchat, silent: true })),
      ).rejects.toThrow(message);
    }
  });

  it('random selection is seedable and never repeats the last speaker when repeats are off', async () => {
    const run = async (seed: number) => {
      const [alice, bob, carol] = trio();
      const groupchat = new GroupChat({
        agents: [alice, bob, carol],
        speakerSelectionMethod: 'random',
        allowRepeatSpeaker: false,
        maxRound: 30,
        random: seed,
      });
      const manager = new GroupChatManager({ groupchat, silent: true });
      await alice.initiateChat(manager, { message: 'start', silent: true });
      return speakers(groupchat.messages);
    };
    const first = await run(7);
    expect(first).toHaveLength(30);
    for (let i = 1; i < first.length; i++) expect(first[i]).not.toBe(first[i - 1]);
    expect(await run(7)).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['alice', 'bob', 'carol']));
  });

  it('allowRepeatSpeaker as a list lets only the listed agents repeat', async () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      allowRepeatSpeaker: [bob],
      speakerSelectionMethod: 'random',
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    for (let i = 0; i < 20; i++) {
      expect(await groupchat.selectSpeaker(alice, manager)).not.toBe(alice);
    }
    const picked = new Set<string>();
    for (let i = 0; i < 40; i++) picked.add((await groupchat.selectSpeaker(bob, manager)).name);
    expect(picked.has('bob')).toBe(true);
  });

  it('hands a tool call to the agent that can run it', async () => {
    const [alice, bob, carol] = trio();
    carol.registerFunction({ lookup: () => 'found' });
    const groupchat = new GroupChat({ agents: [alice, bob, carol], speakerSelectionMethod: 'round_robin' });
    const manager = new GroupChatManager({ groupchat, silent: true });
    groupchat.messages.push({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
    });
    const selection = await groupchat.selectSpeakerWithReason(alice, manager);
    expect(selection.speaker).toBe(carol);
    expect(selection.reason).toBe('function-call-filter');
    const [call] = groupchat.messages[0]?.tool_calls ?? [];
    if (call) call.function.name = 'missing';
    carol.registerFunction({ lookup: null });
    await expect(groupchat.selectSpeaker(alice, manager)).rejects.toThrow(
      'No agent can execute the function missing. Register it on one of the agents (registerFunction or functionMap).',
    );
  });

  it('a group of one is underpopulated', async () => {
    const [alice] = trio();
    const groupchat = new GroupChat({ agents: [alice], speakerSelectionMethod: 'round_robin' });
    await expect(
      groupchat.selectSpeaker(alice, new GroupChatManager({ groupchat, silent: true })),
    ).rejects.toThrow(SpeakerSelectionError);
  });

  it('manual selection reads numbers from the human-input provider', async () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({ agents: [alice, bob, carol], speakerSelectionMethod: 'manual' });
    const renderer = recordingRenderer();
    const humanInput = new ScriptedHumanInput(['3', 'x', '9', '']);
    const manager = new GroupChatManager({ groupchat, renderer, humanInput });
    expect(await groupchat.selectSpeakerWithReason(alice, manager)).toMatchObject({
      speaker: carol,
      reason: 'manual',
    });
    expect(await groupchat.selectSpeakerWithReason(alice, manager)).toMatchObject({
      speaker: bob,
      reason: 'manual-fallback',
    });
    expect(renderer.notices).toContain('Invalid input. Please enter a number between 1 and 3.');
    expect(renderer.notices).toContain(
      'You have tried 3 times. The next speaker will be selected automatically.',
    );
    expect(await groupchat.selectSpeakerWithReason(carol, manager)).toMatchObject({
      speaker: alice,
      reason: 'manual-fallback',
    });
    expect(humanInput.prompts[0]).toBe(
      'Enter the number of the next speaker (enter nothing or `q` to use auto selection): ',
    );
    expect(renderer.notices.slice(0, 4)).toEqual([
      'Please select the next speaker from the following list:',
      '1: alice',
      '2: bob',
      '3: carol',
    ]);
  });

  it('sends introductions to every member before the first round, outside the transcript', async () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      speakerSelectionMethod: 'round_robin',
      sendIntroductions: true,
      maxRound: 2,
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(bob.chatMessages.get(manager)?.[0]?.content).toBe(groupchat.introductionsMsg());
    expect(groupchat.messages.map((message) => message.content)).toEqual(['start', 'bob here']);
  });

  it('reports no-reply and the speaker’s own termination', async () => {
    const [alice, bob] = trio();
    bob.registerReply(ConversableAgent, () => ({ final: true, reply: null }));
    const groupchat = new GroupChat({ agents: [alice, bob], speakerSelectionMethod: 'round_robin' });
    const manager = new GroupChatManager({ groupchat, silent: true });
    const result = await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(result.terminationReason).toBe('no-reply');

    const carol = agent('carol', 'ok', { maxConsecutiveAutoReply: 2 });
    const dave = agent('dave');
    const second = new GroupChat({
      agents: [carol, dave],
      speakerSelectionMethod: 'round_robin',
      maxRound: 50,
    });
    const secondManager = new GroupChatManager({ groupchat: second, silent: true });
    const secondResult = await dave.initiateChat(secondManager, { message: 'start', silent: true });
    expect(secondResult.terminationReason).toBe('max-consecutive-auto-reply');
    expect(speakers(second.messages)).toEqual(['dave', 'carol', 'dave', 'carol', 'dave']);
  });

  it('stops cleanly between turns when the signal aborts', async () => {
    const [alice, bob, carol] = trio();
    const controller = new AbortController();
    let replies = 0;
    carol.registerReply(ConversableAgent, () => {
      replies += 1;
      if (replies === 2) controller.abort();
      return { final: true, reply: `carol ${replies}` };
    });
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      speakerSelectionMethod: 'round_robin',
      maxRound: 100,
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    const ended: string[] = [];
    manager.on('chat-terminated', (event) => ended.push(`${event.agent.name}:${event.reason}`));
    const result = await alice.initiateChat(manager, {
      message: 'start',
      silent: true,
      signal: controller.signal,
    });
    expect(result.terminationReason).toBe('aborted');
    expect(ended).toEqual(['chat_manager:aborted']);
    expect(speakers(groupchat.messages)).toEqual(['alice', 'bob', 'carol', 'alice', 'bob', 'carol']);
  });

  it('honours clear history commands when enabled', async () => {
    const [alice, bob] = trio();
    const carol = agent('carol', 'please clear history bob now');
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      speakerSelectionMethod: 'round_robin',
      enableClearHistory: true,
      maxRound: 3,
    });
    const renderer = recordingRenderer();
    const manager = new GroupChatManager({ groupchat, renderer, silent: true });
    await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(renderer.notices).toContain('Clearing history for bob.');
    expect(groupchat.messages.at(-1)?.content).toBe('please now');
    // Bob's history was cleared, then he heard the cleaned reply.
    expect(bob.chatMessages.get(manager)?.map((message) => message.content)).toEqual(['please now']);
    expect(alice.chatMessages.get(manager)?.length).toBeGreaterThan(1);
  });

  it('a manager can be a member of another group chat', async () => {
    const [alice, bob, carol] = trio();
    const inner = new GroupChat({ agents: [bob, carol], speakerSelectionMethod: 'round_robin', maxRound: 3 });
    const team = new GroupChatManager({
      groupchat: inner,
      name: 'team',
      silent: true,
      defaultAutoReply: 'team done',
    });
    const outer = new GroupChat({
      agents: [alice, team],
      speakerSelectionMethod: 'round_robin',
      maxRound: 3,
    });
    const manager = new GroupChatManager({ groupchat: outer, silent: true });
    const result = await alice.initiateChat(manager, { message: 'start', silent: true });
    expect(speakers(outer.messages)).toEqual(['alice', 'team', 'alice']);
    // The team ran its own chat and answered the outer group with its last message.
    expect(speakers(inner.messages)).toEqual(['chat_manager', 'bob', 'carol']);
    expect(outer.messages[1]?.content).toBe('carol here');
    expect(result.terminationReason).toBe('max-round');
  });

  it('checks the manager options', () => {
    const [alice, bob] = trio();
    const groupchat = new GroupChat({ agents: [alice, bob] });
    expect(
      () =>
        new GroupChatManager({
          groupchat,
          llmConfig: {
            modelClient: { create: async () => ({}) as never, usage: () => ({}) as never, clearUsage() {} },
            tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
          },
        }),
    ).toThrow(
      'GroupChatManager is not allowed to make function/tool calls. Please remove `functions` and `tools` from the llmConfig you passed in.',
    );
    const manager = new GroupChatManager({
      groupchat: new GroupChat({ agents: [alice, bob], speakerSelectionMethod: 'random' }),
    });
    expect(manager.name).toBe('chat_manager');
    expect(manager.systemMessage).toBe('Group chat manager.');
    expect(manager.humanInputMode).toBe('NEVER');
    expect(manager.maxConsecutiveAutoReply()).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('GroupChatManager without a model', () => {
  it("is built with 'auto', serves lookups, resume and messagesToString, and refuses the first selection", async () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({ agents: [alice, bob, carol] });
    const manager = new GroupChatManager({ groupchat, silent: true });
    expect(manager.groupchat.agentByName('bob')).toBe(bob);
    const saved: Message[] = [
      { role: 'user', content: 'plan', name: 'alice' },
      { role: 'user', content: 'bob here', name: 'bob' },
    ];
    const { lastAgent } = await manager.resume(saved, { silent: true });
    expect(lastAgent).toBe(bob);
    expect(JSON.parse(manager.messagesToString())).toEqual([
      { role: 'user', content: 'plan', name: 'alice' },
    ]);
    const chat = alice.initiateChat(manager, { message: 'start', silent: true });
    await expect(chat).rejects.toThrow(SpeakerSelectionError);
    await expect(chat).rejects.toThrow(/does not have an LLM configuration.*selectSpeakerAutoLlmConfig/);
    expect(speakers(groupchat.messages)).toEqual(['alice']);
  });
});

describe('a group chat hosted by another agent (AutoGen plugin pattern)', () => {
  it('runs with GroupChatManager.prototype.runChat registered as a reply function of a plain agent', async () => {
    const [alice, bob, carol] = trio();
    const groupchat = new GroupChat({
      agents: [alice, bob, carol],
      speakerSelectionMethod: 'round_robin',
      maxRound: 4,
    });
    const host = new ConversableAgent({ name: 'host', humanInputMode: 'NEVER', silent: true });
    host.registerReply(ConversableAgent, GroupChatManager.prototype.runChat, {
      config: groupchat,
      resetConfig: (config) => {
        config.reset();
        return config;
      },
    });
    const selected: string[] = [];
    host.on('speaker-selected', ({ speaker }) => selected.push(speaker.name));
    const result = await alice.initiateChat(host, { message: 'start', silent: true });
    expect(groupchat.messages.map((message) => [message.name, message.content])).toEqual([
      ['alice', 'start'],
      ['bob', 'bob here'],
      ['carol', 'carol here'],
      ['alice', 'alice here'],
    ]);
    expect(selected).toEqual(['bob', 'carol', 'alice']);
    expect(result.terminationReason).toBe('max-round');
    // The members heard each other through the host.
    expect(bob.chatMessages.get(host)?.map((message) => message.content)).toEqual([
      'start',
      'bob here',
      'carol here',
      'alice here',
    ]);
    host.reset();
    expect(groupchat.messages).toEqual([]);
  });

  it("selects with the host's own model for 'auto'", async () => {
    const [alice, bob, carol] = trio();
    const model = new ScriptedModelClient({ replies: ['carol', 'bob'] });
    const groupchat = new GroupChat({ agents: [alice, bob, carol], maxRound: 3 });
    const host = new ConversableAgent({
      name: 'host',
      humanInputMode: 'NEVER',
      silent: true,
      llmConfig: { modelClient: model },
    });
    host.registerReply(ConversableAgent, GroupChatManager.prototype.runChat, { config: groupchat });
    await alice.initiateChat(host, { message: 'start', silent: true });
    expect(speakers(groupchat.messages)).toEqual(['alice', 'carol', 'bob']);
    expect(model.requests).toHaveLength(2);
  });

  it('says how to register it when the host gave no group chat', async () => {
    const [alice] = trio();
    const host = new ConversableAgent({ name: 'host', humanInputMode: 'NEVER', silent: true });
    host.registerReply(ConversableAgent, GroupChatManager.prototype.runChat);
    await expect(alice.initiateChat(host, { message: 'start', silent: true })).rejects.toThrow(
      "Agent 'host' runs a group chat without one: register the run loop with the group chat as its config, registerReply(ConversableAgent, GroupChatManager.prototype.runChat, { config: groupchat }).",
    );
  });
});

describe('GroupChatManager.resume', () => {
  async function savedChat() {
    const alice = agent('alice');
    const bob = agent('bob');
    const carol = agent('carol', 'finished TERMINATE');
    const groupchat = new GroupChat({ agents: [alice, bob, carol], speakerSelectionMethod: 'round_robin' });
    const manager = new GroupChatManager({
      groupchat,
      silent: true,
      isTerminationMsg: (message) => String(message.content).includes('TERMINATE'),
    });
    await alice.initiateChat(manager, { message: 'start', silent: true });
    return { alice, bob, carol, groupchat, manager, saved: manager.messagesToString() };
  }

  it('replays a saved transcript and continues from the last message', async () => {
    const { alice, bob, carol, groupchat, manager, saved } = await savedChat();
    expect(JSON.parse(saved)).toHaveLength(3);
    const { lastAgent, lastMessage } = await manager.resume(saved, {
      removeTerminationString: 'TERMINATE',
      silent: true,
    });
    expect(lastAgent).toBe(carol);
    expect(lastMessage.content).toBe('finished ');
    expect(speakers(groupchat.messages)).toEqual(['alice', 'bob']);
    expect(alice.chatMessages.get(manager)?.map((message) => message.content)).toEqual(['start', 'bob here']);
    expect(bob.chatMessages.get(manager)?.map((message) => message.role)).toEqual(['user', 'assistant']);
    carol.defaultAutoReply = 'carol again';
    const result = await lastAgent.initiateChat(manager, {
      message: lastMessage,
      clearHistory: false,
      silent: true,
    });
    // maxRound counts the rounds of this run: 2 replayed messages + 10 new ones.
    expect(speakers(groupchat.messages)).toEqual([
      'alice',
      'bob',
      ...['carol', 'alice', 'bob', 'carol', 'alice', 'bob', 'carol', 'alice', 'bob', 'carol'],
    ]);
    expect(groupchat.messages[2]?.content).toBe('finished ');
    expect(result.terminationReason).toBe('max-round');
  });

  it('rejects invalid input without touching the chat', async () => {
    const { groupchat, manager } = await savedChat();
    const before = groupchat.messages.length;
    await expect(manager.resume([])).rejects.toThrow(
      'Cannot resume group chat as no messages were provided. Use initiateChat to start a new chat.',
    );
    await expect(manager.resume([{ role: 'user', content: 'x', name: 'zed' }])).rejects.toThrow(
      "Agent name in message doesn't exist as agent in group chat: zed",
    );
    await expect(manager.resume('{not json')).rejects.toThrow('Messages string is not a valid JSON string');
    expect(groupchat.messages).toHaveLength(before);
  });

  it('attributes messages without a name to the manager', async () => {
    const { manager, groupchat } = await savedChat();
    const { lastAgent } = await manager.resume(
      [
        { role: 'user', content: 'from somewhere' },
        { role: 'user', content: 'go on', name: 'Admin' },
      ],
      { silent: true },
    );
    expect(groupchat.messages).toEqual([{ role: 'user', content: 'from somewhere', name: 'chat_manager' }]);
    expect(lastAgent).toBe(manager);
  });
});
