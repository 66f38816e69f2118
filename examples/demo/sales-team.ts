import {
  AssistantAgent,
  type CodeExecutor,
  GroupChat,
  GroupChatManager,
  includesTerminate,
  type LlmConfig,
  type TranscriptRenderer,
  UserProxyAgent,
} from '@hopgen/agents';

/** The demo's task. */
export const SALES_TASK =
  'Create synthetic sales data (columns date, product, region, amount) for 2024 and analyse it: total sales by product, the best region, the monthly trend, and a chart saved as sales_analysis.png.';

/** What the sales team is built from. */
export interface SalesTeamOptions {
  /** The `llmConfig` of each model-backed agent, by name (`Coder`, `Analyst`, `Reviewer`, `chat_manager`). */
  llmConfig(agentName: string): LlmConfig;
  /** Runs the Coder's code (a sandbox). */
  executor: CodeExecutor;
  /** Whether User asks a person before it acts. @default 'NEVER' */
  humanInputMode?: 'ALWAYS' | 'TERMINATE' | 'NEVER';
  /** Draws the transcript. @default the console */
  renderer?: TranscriptRenderer;
  /** Print nothing. @default false */
  silent?: boolean;
}

/**
 * The demo's team: User runs the code, Coder writes it, Analyst interprets the numbers, Reviewer
 * checks the work; a GroupChatManager picks who speaks next. Used by the demo script and by the
 * `hopgen serve` example, so both run the same team.
 */
export function buildSalesTeam(options: SalesTeamOptions) {
  const shared = {
    ...(options.renderer ? { renderer: options.renderer } : {}),
    ...(options.silent ? { silent: true } : {}),
  };
  const user = new UserProxyAgent({
    name: 'User',
    humanInputMode: options.humanInputMode ?? 'NEVER',
    codeExecutionConfig: { executor: options.executor },
    ...shared,
  });
  const coder = new AssistantAgent({
    name: 'Coder',
    description: 'Writes the Python code (pandas, matplotlib) that User runs in the sandbox.',
    systemMessage: `You are Coder, a Python data engineer in a team. You write code; User runs it in a sandbox that has numpy, pandas and matplotlib, and reports the output.
- Send exactly one complete \`\`\`python block per message; print every number you compute.
- Files persist in the working directory between runs (for example sales.csv).
- For a chart, save it with fig.savefig("<name>.png") and then call plt.show() so the image is returned.
- Do not interpret results: the Analyst does. If the code fails, fix it and send the whole code again.`,
    llmConfig: options.llmConfig('Coder'),
    ...shared,
  });
  const analyst = new AssistantAgent({
    name: 'Analyst',
    description: 'Interprets the numbers the code printed and asks Coder for charts. Never writes code.',
    systemMessage:
      'You are Analyst. Read the execution results and explain what they mean, with the numbers: the top product, the best region, the monthly trend. Never write code. When a chart would help and none exists yet, ask Coder for it.',
    llmConfig: options.llmConfig('Analyst'),
    ...shared,
  });
  const reviewer = new AssistantAgent({
    name: 'Reviewer',
    description: 'Checks that the task is complete and correct, and ends the chat with TERMINATE.',
    systemMessage:
      'You are Reviewer. Check that the task is complete: totals by product, the best region, the monthly trend and a chart were produced in the sandbox and the numbers agree. If something is missing, say what. When everything is done, summarise in three bullet points and end with TERMINATE.',
    llmConfig: options.llmConfig('Reviewer'),
    ...shared,
  });
  const groupchat = new GroupChat({ agents: [user, coder, analyst, reviewer], maxRound: 14 });
  const manager = new GroupChatManager({
    groupchat,
    llmConfig: options.llmConfig('chat_manager'),
    isTerminationMsg: includesTerminate,
    ...shared,
  });
  return { user, coder, analyst, reviewer, groupchat, manager };
}
