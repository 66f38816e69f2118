import {
  type ApprovalPolicy,
  type ChatQueueItem,
  type ConversableAgent,
  type DurableRun,
  type InitiateChatOptions,
  type RunStore,
  startChat,
  startChats,
} from '@hopgen/agents';
import type { z } from 'zod';

/** What a pipeline's `build` returns: its agents and the flow to run, a chat or an `initiateChats` queue. */
export type PipelineFlow =
  | {
      agents: readonly ConversableAgent[];
      chat: InitiateChatOptions & { sender: ConversableAgent; recipient: ConversableAgent };
    }
  | { agents: readonly ConversableAgent[]; chats: readonly ChatQueueItem[] };

/** A named team the server can start with an input: it builds fresh agents for every run. */
export interface Pipeline<Input = unknown> {
  /** Its name in the API and on the page. */
  name: string;
  /** Checks the input of a new run; without it any JSON is accepted. @default none */
  input?: z.ZodType<Input>;
  /** Builds the agents and the flow of one run. */
  build(input: Input, context: { runId: string }): PipelineFlow | Promise<PipelineFlow>;
}

/** Declares a pipeline for `serve({ pipelines })`, with its input type inferred from the schema. */
export function definePipeline<Input>(pipeline: Pipeline<Input>): Pipeline<Input> {
  return pipeline;
}

/** Starts a durable run of a pipeline. */
export async function startPipelineRun(
  pipeline: Pipeline,
  input: unknown,
  options: { store: RunStore; runId: string; approval?: ApprovalPolicy; signal?: AbortSignal },
): Promise<DurableRun> {
  const flow = await pipeline.build(input, { runId: options.runId });
  if ('chat' in flow) {
    const { sender, recipient, ...chatOptions } = flow.chat;
    return startChat(sender, recipient, { ...chatOptions, ...options });
  }
  return startChats(flow.chats, options);
}
