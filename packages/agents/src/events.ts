import type { ChatResult, TerminationReason } from './chats/chat-result.js';
import type { CodeBlock, CodeResult } from './code-execution/types.js';
import type { ConversableAgent } from './conversable-agent.js';
import type { Message, MessageInput } from './message.js';

/** A message passed between two agents. */
export interface MessageEvent {
  sender: ConversableAgent;
  recipient: ConversableAgent;
  message: Message;
  silent: boolean;
}

/** The events every agent emits (eventemitter3). Names are noun-verb. */
export interface AgentEvents {
  /** This agent sent a message. */
  'message-sent': (event: MessageEvent) => void;
  /** This agent received a message. */
  'message-received': (event: MessageEvent) => void;
  /** This agent produced a reply (`reply` is `null` when it ends the conversation). */
  'reply-generated': (event: {
    agent: ConversableAgent;
    sender?: ConversableAgent;
    reply: MessageInput | null;
  }) => void;
  /** This agent asks a human for input. */
  'human-input-requested': (event: {
    agent: ConversableAgent;
    prompt: string;
    sender?: ConversableAgent;
  }) => void;
  /** This agent starts running code blocks. */
  'code-execution-start': (event: { agent: ConversableAgent; codeBlocks: CodeBlock[] }) => void;
  /** This agent finished running code blocks. */
  'code-execution-end': (event: {
    agent: ConversableAgent;
    codeBlocks: CodeBlock[];
    result: CodeResult;
    durationMs: number;
  }) => void;
  /** Code this agent runs printed something (before the block ends); `stepId` is the code step's id. */
  'code-output': (event: {
    agent: ConversableAgent;
    stepId: string;
    stream: 'stdout' | 'stderr';
    text: string;
  }) => void;
  /** A streamed model answer produced a text fragment. */
  'text-delta': (event: { agent: ConversableAgent; delta: string }) => void;
  /** A group chat picked its next speaker; `reason` says how and why. */
  'speaker-selected': (event: {
    speaker: ConversableAgent;
    method: string;
    reason: string;
    round: number;
    /** A sentence for people when the choice was a fallback (e.g. the model's unusable answer). */
    detail?: string;
  }) => void;
  /** A chat this agent initiated or hosted ended. */
  'chat-terminated': (event: {
    agent: ConversableAgent;
    reason: TerminationReason;
    detail?: string;
    result?: ChatResult;
  }) => void;
}
