import { contentToString, type Message, type ModelRequest } from '@hopgen/agents';
import { capture, executions, parseExecution, python, reportFailure } from '../scripted/helpers.js';

/**
 * Offline replies of example 3. The Coder's code really runs in the sandbox; the Analyst and the
 * Reviewer read its output from the conversation, and the manager's speaker choice follows the
 * conversation as a model would.
 */

const DATA_CODE = python(`
import numpy as np
import pandas as pd

# Synthetic but realistic: a seeded year of orders, seasonal demand, four products, four regions.
rng = np.random.default_rng(7)
days = pd.date_range("2024-01-01", "2024-12-31", freq="D")
n = 2400
sales = pd.DataFrame({
    "date": rng.choice(days, n),
    "product": rng.choice(["Laptop", "Phone", "Tablet", "Monitor"], n, p=[0.2, 0.35, 0.25, 0.2]),
    "region": rng.choice(["North", "South", "East", "West"], n, p=[0.28, 0.18, 0.22, 0.32]),
})
price = sales["product"].map({"Laptop": 1200, "Phone": 700, "Tablet": 450, "Monitor": 300})
season = 1 + 0.3 * np.sin((sales["date"].dt.month - 4) / 12 * 2 * np.pi)
sales["amount"] = (price * season * rng.uniform(0.8, 1.2, n)).round(2)
sales = sales.sort_values("date").reset_index(drop=True)
sales.to_csv("sales.csv", index=False)
print(f"{len(sales)} orders from {sales['date'].min():%Y-%m-%d} to {sales['date'].max():%Y-%m-%d}, saved to sales.csv")

by_product = sales.groupby("product")["amount"].sum().sort_values(ascending=False)
print("\\nTotal sales by product:")
print(by_product.map("\${:,.2f}".format).to_string())

by_region = sales.groupby("region")["amount"].sum().sort_values(ascending=False)
print("\\nTotal sales by region:")
print(by_region.map("\${:,.2f}".format).to_string())
print(f"Best region: {by_region.index[0]} (\${by_region.iloc[0]:,.2f}, {by_region.iloc[0] / by_region.sum():.1%} of sales)")

monthly = sales.set_index("date")["amount"].resample("MS").sum()
print("\\nMonthly totals:")
print(monthly.rename(index=lambda day: day.strftime("%b")).map("\${:,.0f}".format).to_string())
print(f"Peak month: {monthly.idxmax():%B} (\${monthly.max():,.0f}); weakest month: {monthly.idxmin():%B} (\${monthly.min():,.0f})")
print(f"Second half vs first half: {monthly.iloc[6:].sum() / monthly.iloc[:6].sum() - 1:+.1%}")
`);

const CHART_CODE = python(`
import matplotlib.pyplot as plt
import pandas as pd

sales = pd.read_csv("sales.csv", parse_dates=["date"])
month = sales["date"].dt.to_period("M").dt.to_timestamp()
monthly = sales.pivot_table(index=month, columns="product", values="amount", aggfunc="sum")
by_region = sales.groupby("region")["amount"].sum().sort_values()

fig, (trend, regions) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [2.2, 1]})
monthly.plot(ax=trend, marker="o", linewidth=2)
trend.set_title("Monthly sales by product", fontweight="bold")
trend.set_xlabel("")
trend.set_ylabel("Sales")
trend.yaxis.set_major_formatter(lambda value, _: f"\${value / 1000:,.0f}k")
trend.grid(alpha=0.3)
trend.legend(title="", frameon=False, ncol=2)

colors = ["#cbd5e1"] * (len(by_region) - 1) + ["#2563eb"]
by_region.plot.barh(ax=regions, color=colors)
regions.set_title("Total sales by region", fontweight="bold")
regions.set_ylabel("")
regions.xaxis.set_major_formatter(lambda value, _: f"\${value / 1e6:,.1f}M")
for side in ("top", "right"):
    trend.spines[side].set_visible(False)
    regions.spines[side].set_visible(False)

fig.tight_layout()
fig.savefig("sales_analysis.png", dpi=110)
plt.show()
print("Chart saved to sales_analysis.png")
`);

/** The Coder: the analysis first, then the chart the Analyst asks for. */
export function coderScript(request: ModelRequest): string {
  const runs = executions(request);
  const failed = runs.find((run) => run.exitCode !== 0);
  if (failed) return reportFailure(failed);
  if (runs.length === 0) {
    return `I'll generate the synthetic sales data (date, product, region, amount), save it to sales.csv, and compute totals by product, totals by region and the monthly trend.\n\n${DATA_CODE}`;
  }
  return `Here is the chart: monthly sales per product next to the regional totals, saved to sales_analysis.png.\n\n${CHART_CODE}`;
}

/** The Analyst: reads the numbers the sandbox printed and asks for a chart. */
export function analystScript(request: ModelRequest): string {
  const run = executions(request)[0];
  if (run === undefined || run.exitCode !== 0) return 'There is no successful analysis to interpret yet.';
  const output = run.output;
  // pandas prints the index name ("product") above the values.
  const topProduct = capture(output, /Total sales by product:\n(?:product\n)?(\S+)/);
  const topProductTotal = capture(output, /Total sales by product:\n(?:product\n)?\S+\s+(\$[\d,.]+)/);
  const bestRegion = capture(output, /Best region: (\w+)/);
  const bestRegionDetail = capture(output, /Best region: \w+ \(([^)]*)\)/);
  const peak = capture(output, /Peak month: ([^;]+);/);
  const weakest = capture(output, /weakest month: (.+)/);
  const halves = capture(output, /Second half vs first half: (\S+)/);
  return `Reading the results:
- **${topProduct}** is the top product with ${topProductTotal} in sales.
- The best region is **${bestRegion}** (${bestRegionDetail}).
- The monthly trend is seasonal: the peak is ${peak}, the weakest month is ${weakest}; the second half of the year is ${halves} against the first.

Coder, please chart the monthly sales per product next to the totals by region, so the seasonality and the regional lead are visible at a glance.`;
}

/** The Reviewer: checks what the sandbox actually produced, then approves or says what is missing. */
export function reviewerScript(request: ModelRequest): string {
  const runs = executions(request);
  const analysis = runs[0];
  const chart = runs.at(-1);
  const missing: string[] = [];
  if (analysis === undefined || !/Total sales by product:/.test(analysis.output))
    missing.push('totals by product');
  if (analysis === undefined || !/Best region:/.test(analysis.output)) missing.push('the best region');
  if (analysis === undefined || !/Monthly totals:/.test(analysis.output)) missing.push('the monthly trend');
  if (chart === undefined || chart.exitCode !== 0 || !/Image saved to|Chart saved to/.test(chart.output)) {
    missing.push('the chart');
  }
  if (missing.length > 0)
    return `Not done yet: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing.`;
  const rows = capture(analysis!.output, /^(\d+) orders/m);
  return `Review: the task is complete.
- ${rows} orders were analysed in the sandbox; totals by product and by region come from the same data (sales.csv).
- The best region and the seasonal monthly trend are backed by the printed tables.
- The chart was rendered in the sandbox and returned as an image.

TERMINATE`;
}

/** The manager's speaker selection: who should speak after the last message, as a model would judge it. */
export function managerScript(request: ModelRequest): string {
  const last = lastGroupMessage(request.messages);
  const name = last?.name ?? '';
  const execution = parseExecution(last);
  if (name === 'Coder') return 'User';
  if (name === 'Analyst') return 'Coder';
  if (name === 'User' && execution === undefined) return 'Coder';
  if (execution !== undefined) {
    if (execution.exitCode !== 0) return 'Coder';
    return executions(request).length === 1 ? 'Analyst' : 'Reviewer';
  }
  return 'Reviewer';
}

// The selector's prompt ends with its own instructions; the last message of the group comes before them.
function lastGroupMessage(messages: readonly Message[]): Message | undefined {
  return (
    messages.filter((message) => message.name !== undefined && message.role !== 'system').at(-1) ??
    messages
      .filter((message) => !contentToString(message.content).startsWith('Read the above conversation'))
      .at(-1)
  );
}
