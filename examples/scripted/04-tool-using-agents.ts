import { contentToString, type ModelRequest } from '@hopgen/agents';
import type { ScriptedReply } from '@hopgen/agents/testing';
import { capture, conversation } from './helpers.js';

/**
 * Offline replies of example 4's analyst: tool calls, one step at a time, then a summary written
 * from the tools' real answers (including the failed install, when the sandbox is offline).
 */
export function analystScript(request: ModelRequest): ScriptedReply {
  const answers = new Map(
    conversation(request)
      .filter((message) => message.role === 'tool' && message.tool_call_id)
      .map((message) => [message.tool_call_id as string, contentToString(message.content)]),
  );
  const install = answers.get('call_install');
  const analysis = answers.get('call_analysis');
  const chart = answers.get('call_chart');
  if (install === undefined) {
    return call('call_install', 'installPackage', { packageName: 'tabulate' });
  }
  if (analysis === undefined) {
    const tabulate = !install.startsWith('Error');
    return call('call_analysis', 'runDataAnalysis', {
      code: `from sklearn.datasets import load_iris

iris = load_iris(as_frame=True)
flowers = iris.frame.rename(columns=lambda name: name.replace(" (cm)", "").replace(" ", "_"))
flowers["species"] = iris.target_names[iris.target]
means = flowers.groupby("species").mean(numeric_only=True).drop(columns="target").round(2)
print(f"{len(flowers)} flowers, {flowers['species'].nunique()} species")
${tabulate ? 'print(means.to_markdown())' : 'print(means.to_string())'}
largest = means["petal_length"].idxmax()
print(f"Longest petals: {largest} ({means.loc[largest, 'petal_length']} cm on average)")`,
    });
  }
  if (chart === undefined) {
    return call('call_chart', 'runDataAnalysis', {
      code: `import matplotlib.pyplot as plt

fig, axis = plt.subplots(figsize=(7, 4.5))
for species, group in flowers.groupby("species"):
    axis.scatter(group["petal_length"], group["petal_width"], label=species, alpha=0.75, s=28)
axis.set_title("Iris petals by species", fontweight="bold")
axis.set_xlabel("petal length (cm)")
axis.set_ylabel("petal width (cm)")
axis.legend(frameon=False)
axis.grid(alpha=0.3)
fig.tight_layout()
fig.savefig("iris_petals.png", dpi=110)
plt.close(fig)
print("Saved iris_petals.png in the sandbox")`,
    });
  }
  const installNote = install.startsWith('Error')
    ? `- \`installPackage\` could not install tabulate: ${capture(install, /could not install tabulate: ([^.]+)/)}. I printed the table with pandas instead.`
    : '- tabulate was installed and used for the table.';
  const chartNote = chart.startsWith('Error') ? `- The chart failed: ${chart}` : `- ${chart.split('\n')[0]}`;
  return `Summary of the tool results:
${installNote}
- ${capture(analysis, /(\d+ flowers, \d+ species)/)}; longest petals: ${capture(analysis, /Longest petals: (.+)/)}.
${chartNote}

TERMINATE`;
}

function call(id: string, name: string, args: Record<string, unknown>): ScriptedReply {
  return {
    content: null,
    tool_calls: [{ id, type: 'function', function: { name, arguments: JSON.stringify(args) } }],
  };
}
