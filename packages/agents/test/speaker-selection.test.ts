import {
  ConversableAgent,
  DEFAULT_SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE,
  GroupChat,
  GroupChatManager,
  type GroupChatOptions,
  type ModelRequest,
  SpeakerSelectionError,
} from '@hopgen/agents';
import { ScriptedModelClient, type ScriptedReply } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';

function agent(name: string) {
  return new ConversableAgent({
    name,
    description: `${name} role`,
    defaultAutoReply: `${name} here`,
    humanInputMode: 'NEVER',
    silent: true,
  });
}

function setup(replies: readonly ScriptedReply[], options: Partial<GroupChatOptions> = {}) {
  const alice = agent('alice');
  const bob = agent('bob');
  const carol = agent('carol');
  const model = new ScriptedModelClient({ replies });
  const groupchat = new GroupChat({ agents: [alice, bob, carol], ...options });
  const manager = new GroupChatManager({ groupchat, silent: true, llmConfig: { modelClient: model } });
  groupchat.messages.push({ role: 'user', content: 'We need a plan.', name: 'alice' });
  return { alice, bob, carol, model, groupchat, manager };
}

const lastOf = (request: ModelRequest | undefined) => request?.messages.at(-1);

describe("'auto' speaker selection", () => {
  it('takes the one agent the model names, with the selector prompt AutoGen sends', async () => {
    const { alice, carol, model, groupchat, manager } = setup(['I think carol should go next.']);
    const selection = await groupchat.selectSpeakerWithReason(alice, manager);
    expect(selection).toEqual({ speaker: carol, method: 'auto', reason: 'model-selected' });
    expect(model.requests).toHaveLength(1);
    const request = model.requests[0]!;
    expect(request.messages[0]).toEqual({ role: 'system', content: groupchat.selectSpeakerMsg() });
    expect(request.messages[1]).toMatchObject({ content: 'We need a plan.', name: 'alice' });
    expect(lastOf(request)).toEqual({
      role: 'system',
      content:
        "Read the above conversation. Then select the next role from ['alice', 'bob', 'carol'] to play. Only return the role.",
      name: 'checking_agent',
    });
    expect(request.tools).toBeUndefined();
  });

  it('sends the selector prompt with roleForSelectSpeakerMessages', async () => {
    const { alice, bob, model, groupchat, manager } = setup(['bob'], {
      roleForSelectSpeakerMessages: 'user',
    });
    expect((await groupchat.selectSpeakerWithReason(alice, manager)).speaker).toBe(bob);
    expect(lastOf(model.requests[0])).toMatchObject({ role: 'user', name: 'checking_agent' });
  });

  it('asks again after several names and uses the retry answer', async () => {
    const { alice, bob, model, groupchat, manager } = setup(['alice or bob?', 'bob']);
    const selection = await groupchat.selectSpeakerWithReason(alice, manager);
    expect(selection.speaker).toBe(bob);
    expect(selection.reason).toBe('model-selected');
    expect(model.requests).toHaveLength(2);
    expect(lastOf(model.requests[1])).toMatchObject({
      role: 'system',
      content: DEFAULT_SELECT_SPEAKER_AUTO_MULTIPLE_TEMPLATE,
    });
  });

  it('falls back deterministically after retries that name nobody, and says why', async () => {
    const { alice, bob, model, groupchat, manager } = setup(['no idea', 'hmm', 'pass']);
    const selection = await groupchat.selectSpeakerWithReason(alice, manager);
    expect(model.requests).toHaveLength(3);
    expect(lastOf(model.requests[1])?.content).toContain(
      "The only names that are accepted are ['alice', 'bob', 'carol'].",
    );
    expect(selection.speaker).toBe(bob);
    expect(selection.reason).toBe('model-fallback-no-name');
    expect(selection.detail).toContain('"pass"');
    expect(selection.detail).toContain('3 attempt(s)');
  });

  it('falls back after retries that keep naming several agents', async () => {
    const { carol, alice, model, groupchat, manager } = setup(
      ['alice and bob', 'bob, carol', 'carol or alice'],
      {
        maxRetriesForSelectingSpeaker: 2,
      },
    );
    const selection = await groupchat.selectSpeakerWithReason(carol, manager);
    expect(model.requests).toHaveLength(3);
    expect(selection).toMatchObject({ speaker: alice, reason: 'model-fallback-multiple-names' });
  });

  it('with no retries asks once', async () => {
    const { alice, model, groupchat, manager } = setup(['nobody'], { maxRetriesForSelectingSpeaker: 0 });
    const selection = await groupchat.selectSpeakerWithReason(alice, manager);
    expect(model.requests).toHaveLength(1);
    expect(selection.reason).toBe('model-fallback-no-name');
  });

  it('never picks the previous speaker when repeats are off, even when the model insists', async () => {
    const { alice, bob, model, groupchat, manager } = setup(['alice', 'alice!', 'alice'], {
      allowRepeatSpeaker: false,
    });
    const selection = await groupchat.selectSpeakerWithReason(alice, manager);
    expect(selection.speaker).toBe(bob);
    expect(selection.reason).toBe('model-fallback-no-name');
    // The selector only offered the eligible agents.
    expect(model.requests[0]?.messages.at(-1)?.content).toContain("['bob', 'carol']");
  });

  it('never returns an agent outside the transition graph', async () => {
    const alice = agent('alice');
    const bob = agent('bob');
    const carol = agent('carol');
    const dave = agent('dave');
    const model = new ScriptedModelClient({ replies: () => 'dave' });
    const groupchat = new GroupChat({
      agents: [alice, bob, carol, dave],
      allowedOrDisallowedSpeakerTransitions: new Map([
        [alice, [bob, carol]],
        [bob, [alice]],
        [carol, [alice]],
        [dave, [alice]],
      ]),
      speakerTransitionsType: 'allowed',
    });
    const manager = new GroupChatManager({ groupchat, silent: true, llmConfig: { modelClient: model } });
    groupchat.messages.push({ role: 'user', content: 'go', name: 'alice' });
    const selection = await groupchat.selectSpeakerWithReason(alice, manager);
    expect([bob, carol]).toContain(selection.speaker);
    expect(selection.speaker).toBe(bob);
    expect(model.requests).toHaveLength(3);
  });

  it('uses selectSpeakerAutoLlmConfig and counts selection in the chat cost', async () => {
    const alice = agent('alice');
    const bob = agent('bob');
    const selectorModel = new ScriptedModelClient({ replies: () => 'bob' });
    const groupchat = new GroupChat({
      agents: [alice, bob],
      maxRound: 3,
      selectSpeakerAutoLlmConfig: { modelClient: selectorModel },
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    const events: string[] = [];
    manager.on('speaker-selected', (event) =>
      events.push(`${event.method}:${event.reason}:${event.speaker.name}`),
    );
    await alice.initiateChat(manager, { message: 'hello', silent: true });
    expect(selectorModel.requests).toHaveLength(2);
    expect(events).toEqual(['auto:model-selected:bob', 'auto:model-selected:bob']);
  });

  it("the manager's model usage includes selection calls", async () => {
    const { alice, manager, groupchat } = setup([]);
    const model = new ScriptedModelClient({ replies: () => 'carol' });
    const other = new GroupChatManager({ groupchat, silent: true, llmConfig: { modelClient: model } });
    expect(manager).not.toBe(other);
    groupchat.maxRound = 2;
    const result = await alice.initiateChat(other, { message: 'hello', silent: true });
    expect(model.requests).toHaveLength(1);
    expect(result.cost.usageIncludingCachedInference.totalCost).toBe(0);
    expect(result.cost.usageIncludingCachedInference.models['scripted']?.promptTokens).toBeGreaterThan(0);
  });

  it('with a disabled prompt template the last group message closes the prompt', async () => {
    const { alice, model, groupchat, manager } = setup(['bob'], { selectSpeakerPromptTemplate: null });
    groupchat.messages.push({ role: 'user', content: 'bob, your turn', name: 'carol' });
    await groupchat.selectSpeaker(alice, manager);
    const messages = model.requests[0]?.messages ?? [];
    expect(messages.at(-1)).toMatchObject({ content: 'bob, your turn' });
    expect(messages.filter((message) => message.content === 'bob, your turn')).toHaveLength(1);
  });

  it('fails with a clear error when auto selection has no model', async () => {
    const alice = agent('alice');
    const bob = agent('bob');
    const groupchat = new GroupChat({
      agents: [alice, bob, agent('carol')],
      speakerSelectionMethod: () => 'auto',
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    await expect(groupchat.selectSpeaker(alice, manager)).rejects.toThrow(SpeakerSelectionError);
    await expect(groupchat.selectSpeaker(alice, manager)).rejects.toThrow(/selectSpeakerAutoLlmConfig/);
  });

  it('an abort during selection ends the chat as aborted', async () => {
    const controller = new AbortController();
    const alice = agent('alice');
    const bob = agent('bob');
    const carol = agent('carol');
    const model = new ScriptedModelClient({
      replies: (request) =>
        new Promise((resolve, reject) => {
          controller.abort();
          if (request.signal?.aborted) {
            const error = new Error('aborted');
            error.name = 'AbortError';
            reject(error);
          } else resolve('bob');
        }),
    });
    const groupchat = new GroupChat({ agents: [alice, bob, carol] });
    const manager = new GroupChatManager({ groupchat, silent: true, llmConfig: { modelClient: model } });
    const result = await alice.initiateChat(manager, {
      message: 'hi',
      silent: true,
      signal: controller.signal,
    });
    expect(result.terminationReason).toBe('aborted');
    expect(groupchat.messages).toHaveLength(1);
  });
});
