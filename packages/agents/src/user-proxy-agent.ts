import { ConversableAgent, type ConversableAgentOptions, type HumanInputMode } from './conversable-agent.js';

// AutoGen's descriptions: group-chat selector prompts use them, so they are kept word for word.
const DEFAULT_USER_PROXY_DESCRIPTIONS: Record<HumanInputMode, string> = {
  ALWAYS:
    'An attentive HUMAN user who can answer questions about the task, and can perform tasks such as running Python code or inputting command line commands at a Linux terminal and reporting back the execution results.',
  TERMINATE:
    'A user that can run Python code or input command line commands at a Linux terminal and report back the execution results.',
  NEVER:
    'A computer terminal that performs no other action than running Python scripts (provided to it quoted in ```python code blocks), or sh shell scripts (provided to it quoted in ```sh code blocks).',
};

/** Options of {@link UserProxyAgent}: those of `ConversableAgent`, with user-proxy defaults. */
export type UserProxyAgentOptions = ConversableAgentOptions;

/**
 * An agent that stands in for the user (AutoGen's `UserProxyAgent`): it asks a human on every
 * message by default (`humanInputMode: 'ALWAYS'`), has no model (`llmConfig: false`) and an empty
 * system message, and runs code when given `codeExecutionConfig: { executor }`. Unlike AutoGen it
 * runs no code unless an executor is given, so model-written code never runs on the host by accident.
 */
export class UserProxyAgent extends ConversableAgent {
  constructor(options: UserProxyAgentOptions) {
    const humanInputMode = options.humanInputMode ?? 'ALWAYS';
    super({
      llmConfig: false,
      systemMessage: '',
      ...options,
      humanInputMode,
      description: options.description ?? DEFAULT_USER_PROXY_DESCRIPTIONS[humanInputMode],
    });
  }
}
