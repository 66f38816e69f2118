import { HopgenError } from '../errors.js';

/**
 * Nobody may speak next (AutoGen's `NoEligibleSpeaker`): the last speaker is a sink of the transition
 * graph, or a custom selector returned `null`. The manager ends the chat gracefully when it sees this.
 */
export class NoEligibleSpeakerError extends HopgenError {
  /** `selector-ended` when a custom selector returned `null`, else `no-eligible-speaker`. */
  readonly reason: 'no-eligible-speaker' | 'selector-ended';

  constructor(
    message = 'No eligible speakers.',
    reason: 'no-eligible-speaker' | 'selector-ended' = 'no-eligible-speaker',
  ) {
    super(message);
    this.reason = reason;
  }
}

/** `agentByName(..., { raiseOnNameConflict: true })` found several agents with one name (AutoGen's `AgentNameConflict`). */
export class AgentNameConflictError extends HopgenError {
  constructor(
    message = 'Found multiple agents with the same name. Give every agent of a group chat a unique name.',
  ) {
    super(message);
  }
}

/** `nextAgent` was given agents that are not all members of the group (AutoGen's `UndefinedNextAgent`). */
export class UndefinedNextAgentError extends HopgenError {
  constructor(
    message = 'The provided agents list does not overlap with agents in the group. Pass only members of groupchat.agents.',
  ) {
    super(message);
  }
}

/** Speaker selection cannot go on: a selector returned something invalid, or no agent can run a requested function. */
export class SpeakerSelectionError extends HopgenError {}

/** `GroupChatManager.resume` was given messages it cannot replay. Nothing was changed. */
export class ResumeError extends HopgenError {}

/** A chat queue for `initiateChats` is invalid (missing sender, unknown prerequisite, a cycle...). Nothing ran. */
export class ChatQueueError extends HopgenError {}
