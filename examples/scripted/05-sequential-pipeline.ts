import { contentToString, type ModelRequest } from '@hopgen/agents';
import { capture, conversation, lastMessage, parseExecution, python, reportFailure } from './helpers.js';

/** Offline replies of example 5. Each stage's summary is read from the sandbox's real output. */

export function dataEngineerScript(request: ModelRequest): string {
  const execution = parseExecution(lastMessage(request));
  if (execution === undefined) {
    return `I'll generate the raw customer table, clean it (drop duplicates, fill or drop missing values, clip impossible ages) and save customers.csv.\n\n${python(`
import numpy as np
import pandas as pd

rng = np.random.default_rng(11)
n = 600
raw = pd.DataFrame({
    "customer_id": np.arange(1, n + 1),
    "age": rng.normal(42, 13, n).round(),
    "tenure_months": rng.integers(1, 72, n),
    "monthly_spend": rng.gamma(4, 18, n).round(2),
    "support_tickets": rng.poisson(1.5, n),
})
churn_score = -1.2 - 0.04 * raw["tenure_months"] + 0.45 * raw["support_tickets"] + 0.01 * raw["monthly_spend"]
raw["churned"] = rng.random(n) < 1 / (1 + np.exp(-churn_score))
raw.loc[rng.choice(n, 30, replace=False), "monthly_spend"] = np.nan
raw.loc[rng.choice(n, 8, replace=False), "age"] = -1
raw = pd.concat([raw, raw.sample(12, random_state=1)])

clean = raw.drop_duplicates("customer_id")
clean = clean[clean["age"].between(18, 100)]
clean["monthly_spend"] = clean["monthly_spend"].fillna(clean["monthly_spend"].median())
clean.to_csv("customers.csv", index=False)
print(f"Raw rows: {len(raw)}; clean rows: {len(clean)}; removed: {len(raw) - len(clean)}")
print(f"Columns: {', '.join(clean.columns)}")
print(f"Churn rate: {clean['churned'].mean():.1%}")
`)}`;
  }
  if (execution.exitCode !== 0) return reportFailure(execution);
  return `customers.csv is ready in the sandbox: ${capture(execution.output, /clean rows: (\d+)/)} clean rows (${capture(execution.output, /removed: (\d+)/)} duplicates or invalid rows removed), columns ${capture(execution.output, /Columns: (.+)/)}; churn rate ${capture(execution.output, /Churn rate: (\S+)/)}.\n\nTERMINATE`;
}

export function dataScientistScript(request: ModelRequest): string {
  const execution = parseExecution(lastMessage(request));
  if (execution === undefined) {
    const context = contentToString(conversation(request)[0]?.content);
    const rows = capture(context, /(\d+) clean rows/, 'the');
    return `Building on the previous step (${rows} clean rows in customers.csv), I'll compare churned and retained customers and rank the drivers by correlation.\n\n${python(`
import pandas as pd

customers = pd.read_csv("customers.csv")
features = ["age", "tenure_months", "monthly_spend", "support_tickets"]
print(customers.groupby("churned")[features].mean().round(2))
correlation = customers[features].corrwith(customers["churned"].astype(float)).sort_values(key=abs, ascending=False)
print("\\nCorrelation with churn:")
print(correlation.round(3).to_string())
print(f"Strongest driver: {correlation.index[0]} ({correlation.iloc[0]:+.3f})")
print(f"Second driver: {correlation.index[1]} ({correlation.iloc[1]:+.3f})")
`)}`;
  }
  if (execution.exitCode !== 0) return reportFailure(execution);
  // Read the direction of each clear correlation from the printed table, rather than assume it.
  const directions = [...execution.output.matchAll(/^(\w+)\s+(-?\d\.\d+)$/gm)]
    .filter((match) => Math.abs(Number(match[2])) >= 0.1)
    .map((match) => `${Number(match[2]) < 0 ? 'lower' : 'higher'} ${match[1]}`);
  const pattern = directions.length > 0 ? ` Churn goes with ${directions.join(', ')}.` : '';
  return `Findings: the strongest churn driver is ${capture(execution.output, /Strongest driver: (.+)/)}, then ${capture(execution.output, /Second driver: (.+)/)}.${pattern}\n\nTERMINATE`;
}

export function reportWriterScript(request: ModelRequest): string {
  const brief = contentToString(conversation(request)[0]?.content);
  return `## Customer churn: summary for management

**Data.** ${capture(brief, /customers\.csv is ready in the sandbox: ([^\n]+?)\.(?:\n|$)/, 'See the data engineering step')}.

**What drives churn.** ${capture(brief, /Findings: ([^\n]+)/, 'See the analysis step')}

**Recommendation.** Focus retention work on the customers these drivers point to, and track the churn rate after each change.`;
}
