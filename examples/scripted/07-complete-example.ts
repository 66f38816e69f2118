import type { ModelRequest } from '@hopgen/agents';
import { capture, executions, python, reportFailure } from './helpers.js';

/** Offline replies of example 7: the analyst's code, and the critic's review of its real output. */

export function dataAnalystScript(request: ModelRequest): string {
  const failed = executions(request).find((run) => run.exitCode !== 0);
  if (failed) return reportFailure(failed);
  return `I'll rank the 13 wine features by how well they separate the three cultivars (one-way ANOVA F statistic) and plot the best three.\n\n${python(`
import matplotlib.pyplot as plt
import pandas as pd
from scipy.stats import f_oneway
from sklearn.datasets import load_wine

wine = load_wine(as_frame=True)
data = wine.frame
data["cultivar"] = [wine.target_names[i].replace("_", " ") for i in wine.target]
scores = pd.Series({
    feature: f_oneway(*(group[feature] for _, group in data.groupby("cultivar"))).statistic
    for feature in wine.feature_names
}).sort_values(ascending=False)
print(f"{len(data)} wines, {data['cultivar'].nunique()} cultivars, {len(wine.feature_names)} features")
print("Top features by ANOVA F:")
print(scores.head(5).round(1).to_string())
best = list(scores.index[:3])
print(f"Best separating feature: {best[0]} (F = {scores.iloc[0]:.1f})")

fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for axis, feature in zip(axes, best):
    data.boxplot(column=feature, by="cultivar", ax=axis, grid=False)
    axis.set_title(feature, fontweight="bold")
    axis.set_xlabel("")
fig.suptitle("The three features that best separate the wine cultivars")
fig.tight_layout()
fig.savefig("wine_features.png", dpi=110)
plt.show()
`)}`;
}

export function criticScript(request: ModelRequest): string {
  const run = executions(request).at(-1);
  if (run === undefined) return 'There is no result to review yet.';
  if (run.exitCode !== 0) return reportFailure(run);
  const chart = /Image saved to/.test(run.output)
    ? 'The box plots were rendered and returned.'
    : 'No chart came back.';
  return `Review: ${capture(run.output, /^(\d+ wines, .+)$/m)}. The ranking uses a one-way ANOVA per feature, which fits a three-group comparison. Best separating feature: ${capture(run.output, /Best separating feature: (.+)/)}. ${chart}\n\nTERMINATE`;
}
