// The long system messages and tasks of the one-assistant examples, kept here so that their code reads
// at a glance. The teams' are in team-prompts.ts.

/** Example 2: the assistant's system message and three requests that share one sandbox. */
export const persistentState = {
  systemMessage:
    'You are a data assistant. Your Python runs in one sandbox that keeps its variables between messages: reuse them. One ```python block per reply; print results; save charts with fig.savefig. When a request is done, reply TERMINATE.',
  requests: [
    'Create a pandas DataFrame `df` with 1000 rows and numeric columns A, B and C (seeded random data).',
    'Add a column D = A + B * C to `df` and show its statistics.',
    'Save a histogram of D as histogram_D.png.',
  ],
};

/** Example 4: the analyst's system message. */
export const analystSystemMessage =
  'You are a data analyst. Work through your tools, one call at a time; if one fails, adapt. When done, summarise and reply TERMINATE.';
/** Example 4: the analyst's task. */
export const irisTask =
  'Install tabulate, compute the mean iris measurements per species (scikit-learn), and plot petal length against width by species, saved as iris_petals.png.';

/** Example 6: the assistant's system message, which says what to do after a restart, and its task. */
export const robustExecution = {
  systemMessage:
    'You are a data assistant. Your Python runs in a sandbox that keeps variables between messages. One ```python block per reply. If the output says the sandbox was restarted, rebuild the lost state. When done, give the numbers and reply TERMINATE.',
  task: 'Load a day of temperature readings (5,000 values, mean about 20 C) into memory, then in a second step report their mean and how many are above 28 C.',
};
