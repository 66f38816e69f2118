// The long system messages and tasks of the team examples, kept here so that their code reads at a glance.

const coder = (role: string) =>
  `You are ${role}. Your Python runs in a sandbox shared by the pipeline (files persist). One \`\`\`python block per reply; print every result. When your stage is done, state its result with the numbers, then reply TERMINATE.`;

/** Example 5: the system messages of the three pipeline stages, and their tasks. */
export const pipeline = {
  engineer: coder('DataEngineer, who prepares clean data'),
  scientist: coder('DataScientist, who finds what the data says'),
  writer: 'You are ReportWriter. Write a short Markdown report from the context, with its numbers only.',
  tasks: [
    'Generate a customer table (customer_id, age, tenure_months, monthly_spend, support_tickets, churned) with some duplicates and invalid values, clean it, save it as customers.csv and report the row counts and the churn rate.',
    'Using customers.csv, find what drives churn: rank the features by their correlation with churn.',
    'Write a short report for management: the data, what drives churn, one recommendation.',
  ],
};

/** Example 7: the system messages of DataAnalyst and Critic, and the question they answer. */
export const wine = {
  analyst:
    'You are DataAnalyst. Answer with one ```python block (pandas, scipy, scikit-learn, matplotlib); print every number; show charts with plt.show(). If the code fails, send all of it corrected.',
  critic:
    'You are Critic. Check the method, the numbers and the chart. If something is wrong, say what DataAnalyst must fix; if right, summarise the answer in two sentences and end with TERMINATE.',
  task: "Which features of scikit-learn's wine dataset best separate the three cultivars? Rank them and plot the best three.",
};

/** Example 10: the system messages of Coder and Critic, and the chart they make. */
export const sales = {
  coder:
    "You are Coder. Write one Python block that draws the chart with matplotlib and saves it with savefig. Apply the Critic's requests.",
  critic:
    'You are Critic. Look at the chart image. Ask for concrete changes, or approve it and say TERMINATE.',
  task: 'Plot sales by region (North-East 182, North-West 145, South-East 121, South-West 98, Central 160, Islands 44) and make the chart easy to read.',
};
