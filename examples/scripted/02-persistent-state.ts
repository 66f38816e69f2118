import { contentToString, type ModelRequest } from '@hopgen/agents';
import { capture, conversation, parseExecution, python, reportFailure } from './helpers.js';

/**
 * Offline replies of example 2's assistant. Each request of the user gets one code block that
 * builds on the interpreter's state (`df` lives on in the sandbox), then a comment read from the
 * real output.
 */
export function assistantScript(request: ModelRequest): string {
  const messages = conversation(request);
  const last = messages.at(-1);
  const execution = parseExecution(last);
  if (execution !== undefined) {
    if (execution.exitCode !== 0) return reportFailure(execution);
    return `${commentOn(execution.output)}\n\nTERMINATE`;
  }
  const requestText = contentToString(last?.content);
  if (/create/i.test(requestText)) {
    return `I'll create \`df\` in the sandbox's Python interpreter; it stays there for your next requests.\n\n${python(`
import numpy as np
import pandas as pd

rng = np.random.default_rng(42)
df = pd.DataFrame({
    "A": rng.normal(10, 2, 1000),
    "B": rng.normal(5, 1, 1000),
    "C": rng.uniform(0, 3, 1000),
})
print(f"df has {len(df)} rows and columns {list(df.columns)}")
print(df.head())
`)}`;
  }
  if (/column D/i.test(requestText)) {
    return `\`df\` is still in memory, so I only add the column and describe it.\n\n${python(`
df["D"] = df["A"] + df["B"] * df["C"]
print(df.describe().round(3))
print(f"Mean of D: {df['D'].mean():.3f}")
`)}`;
  }
  return `Plotting the distribution of D from the same \`df\`, saved as histogram_D.png.\n\n${python(`
import matplotlib.pyplot as plt

fig, axis = plt.subplots(figsize=(8, 4.5))
axis.hist(df["D"], bins=40, color="#2563eb", edgecolor="white")
axis.axvline(df["D"].mean(), color="#dc2626", linestyle="--", label=f"mean {df['D'].mean():.2f}")
axis.set_title("Distribution of D = A + B * C", fontweight="bold")
axis.set_xlabel("D")
axis.set_ylabel("rows")
axis.legend(frameon=False)
fig.tight_layout()
fig.savefig("histogram_D.png", dpi=110)
plt.show()
print("Saved histogram_D.png")
`)}`;
}

function commentOn(output: string): string {
  if (/df has/.test(output)) return `\`df\` exists: ${capture(output, /df has (.+)/)}.`;
  if (/Mean of D/.test(output))
    return `Column D is added; its mean is ${capture(output, /Mean of D: (\S+)/)} (the full statistics are above).`;
  return `The histogram is saved in the sandbox as ${capture(output, /Saved (\S+)/)}.`;
}
