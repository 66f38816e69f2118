import type { ConversableAgent } from '../conversable-agent.js';
import { generateCodeExecutionReply } from './code-execution-reply.js';
import { generateModelReply } from './model-reply.js';
import type { ReplyFunction } from './reply-types.js';
import { checkTerminationAndHumanReply } from './termination-and-human-reply.js';
import { generateToolCallsReply } from './tool-calls-reply.js';

/** A built-in step of the reply pipeline. */
export interface BuiltInReplyStep {
  /** The name shown in `replyFunctionNames`, events and errors. */
  name: string;
  /** The step. */
  replyFunction: ReplyFunction;
  /** Whether an agent gets this step; every agent does when omitted. */
  appliesTo?: (agent: ConversableAgent) => boolean;
}

/** The built-in steps of every agent, in the order they run (AutoGen's order). */
export const BUILT_IN_REPLY_STEPS: readonly BuiltInReplyStep[] = [
  { name: 'checkTerminationAndHumanReply', replyFunction: checkTerminationAndHumanReply },
  { name: 'generateToolCallsReply', replyFunction: generateToolCallsReply },
  {
    name: 'generateCodeExecutionReply',
    replyFunction: generateCodeExecutionReply,
    appliesTo: (agent) => agent.codeExecutionConfig !== false,
  },
  { name: 'generateModelReply', replyFunction: generateModelReply },
];
