import { ConversableAgent, type ConversableAgentOptions } from './conversable-agent.js';

/**
 * hopgen's default system message for an {@link AssistantAgent}. It asks for one fenced, tagged
 * code block per reply, `# filename:` for files, printed results, fixes after errors, and
 * `TERMINATE` at the end.
 */
export const DEFAULT_ASSISTANT_SYSTEM_MESSAGE = `You are a helpful AI assistant who solves tasks with reasoning and with code that the user runs for you.
When a task needs information or an action, write code for the user to execute: Python in a \`\`\`python block, or shell commands in a \`\`\`sh block. The user runs the code exactly as you give it and reports the output; they cannot edit it, so always send complete code, never fragments to fill in.
- Start with a short plan that says which steps use code and which use your own reasoning.
- Send at most one code block per reply, and always tag it with its language.
- To have the code saved to a file, make its first line \`# filename: <file name>\`.
- Print every result you need to see; do not ask the user to copy, paste or report anything by hand.
- Read each execution result. When it shows an error, fix it and send the whole corrected code again. If it keeps failing, check your assumptions, gather the facts you are missing and try a different approach.
- When you reach an answer, check it, and support it with evidence where you can.
Reply "TERMINATE" when everything is done.`;

const DEFAULT_ASSISTANT_DESCRIPTION =
  'A helpful and general-purpose AI assistant that has strong language skills, Python skills, and Linux command line skills.';

/** Options of {@link AssistantAgent}: those of `ConversableAgent`, with assistant defaults. */
export type AssistantAgentOptions = ConversableAgentOptions;

/**
 * An agent that answers with a model and writes code for others to run (AutoGen's
 * `AssistantAgent`): `humanInputMode` defaults to `'NEVER'` and the system message to
 * {@link DEFAULT_ASSISTANT_SYSTEM_MESSAGE}.
 */
export class AssistantAgent extends ConversableAgent {
  constructor(options: AssistantAgentOptions) {
    const systemMessage = options.systemMessage ?? DEFAULT_ASSISTANT_SYSTEM_MESSAGE;
    super({
      humanInputMode: 'NEVER',
      ...options,
      systemMessage,
      description:
        options.description ??
        (systemMessage === DEFAULT_ASSISTANT_SYSTEM_MESSAGE ? DEFAULT_ASSISTANT_DESCRIPTION : systemMessage),
    });
  }
}
