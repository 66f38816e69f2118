import { ConversableAgent, GroupChat, GroupChatManager } from '@hopgen/agents';
import { describe, expect, it } from 'vitest';

function agent(name: string, reply: string) {
  return new ConversableAgent({ name, defaultAutoReply: reply, humanInputMode: 'NEVER', silent: true });
}

describe('registerNestedChats', () => {
  it('runs the nested chats on a trigger and replies with the last summary', async () => {
    const user = agent('user', '');
    const writer = agent('writer', 'draft');
    const critic = agent('critic', 'looks good');
    const editor = agent('editor', 'final edit');
    writer.registerNestedChats(
      [
        { recipient: critic, maxTurns: 1, silent: true },
        { recipient: editor, message: 'Polish it', maxTurns: 1, silent: true },
      ],
      { trigger: user },
    );
    expect(writer.replyFunctionNames.slice(0, 3)).toEqual([
      'checkTerminationAndHumanReply',
      'nestedChats',
      'generateToolCallsReply',
    ]);
    const result = await user.initiateChat(writer, { message: 'Write a poem', maxTurns: 1, silent: true });
    expect(result.chatHistory.map((message) => message.content)).toEqual(['Write a poem', 'final edit']);
    // The first nested chat got the outer message; the second got the first one's summary as carryover.
    expect(critic.chatMessages.get(writer)?.[0]?.content).toBe('Write a poem');
    expect(editor.chatMessages.get(writer)?.[0]?.content).toBe('Polish it\nContext: \nlooks good');
  });

  it('does not fire for other senders', async () => {
    const user = agent('user', '');
    const stranger = agent('stranger', '');
    const writer = agent('writer', 'plain reply');
    const critic = agent('critic', 'critique');
    writer.registerNestedChats([{ recipient: critic, maxTurns: 1, silent: true }], { trigger: user });
    const result = await stranger.initiateChat(writer, { message: 'hi', maxTurns: 1, silent: true });
    expect(result.summary).toBe('plain reply');
    expect(critic.chatMessages.size).toBe(0);
  });

  it('builds messages with functions, skips empty ones, and ends the chat when nothing ran', async () => {
    const user = agent('user', '');
    const writer = agent('writer', 'unused');
    const critic = agent('critic', 'critique');
    const seen: string[] = [];
    writer.registerNestedChats(
      [
        {
          recipient: critic,
          message: (recipient, messages, sender) => {
            seen.push(`${recipient.name}<-${sender?.name}:${messages.at(-1)?.content}`);
            return messages.at(-1)?.content === 'skip' ? '' : 'Review this';
          },
          maxTurns: 1,
          silent: true,
        },
      ],
      { trigger: (sender) => sender.name === 'user' },
    );
    const ran = await user.initiateChat(writer, { message: 'go', maxTurns: 1, silent: true });
    expect(ran.summary).toBe('critique');
    const skipped = await user.initiateChat(writer, { message: 'skip', maxTurns: 1, silent: true });
    expect(skipped.chatHistory.map((message) => message.content)).toEqual(['skip']);
    expect(seen).toEqual(['writer<-user:go', 'writer<-user:skip']);
  });

  it('can run a group chat as a nested chat', async () => {
    const user = agent('user', '');
    const lead = agent('lead', 'unused');
    const alice = agent('alice', 'alice idea');
    const bob = agent('bob', 'bob idea');
    const groupchat = new GroupChat({
      agents: [alice, bob],
      speakerSelectionMethod: 'round_robin',
      maxRound: 3,
    });
    const manager = new GroupChatManager({ groupchat, silent: true });
    lead.registerNestedChats([{ sender: alice, recipient: manager, silent: true }], { trigger: user });
    const result = await user.initiateChat(lead, { message: 'brainstorm', maxTurns: 1, silent: true });
    expect(groupchat.messages.map((message) => message.content)).toEqual([
      'brainstorm',
      'bob idea',
      'alice idea',
    ]);
    expect(result.summary).toBe('alice idea');
  });
});
