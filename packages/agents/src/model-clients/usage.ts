/** Token counts and cost of model calls for one model. */
export interface ModelUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Cost in US dollars, or `null` when the model's price is unknown. */
  cost: number | null;
}

/** Usage of a client or a group of agents, per model, with the total cost. */
export interface UsageSummary {
  /** Sum of the known costs in US dollars; `null` when any call had an unknown price. */
  totalCost: number | null;
  /** Per model name. */
  models: Record<string, ModelUsage>;
}

/** Usage counted with and without answers served from the cache (AutoGen's two summaries). */
export interface UsageReport {
  usageIncludingCachedInference: UsageSummary;
  usageExcludingCachedInference: UsageSummary;
}

/** An empty usage summary. */
export function emptyUsageSummary(): UsageSummary {
  return { totalCost: 0, models: {} };
}

/** Adds `usage` for `model` into `summary` (in place) and returns it. */
export function addUsage(summary: UsageSummary, model: string, usage: ModelUsage): UsageSummary {
  const existing = summary.models[model] ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0 };
  existing.promptTokens += usage.promptTokens;
  existing.completionTokens += usage.completionTokens;
  existing.totalTokens += usage.totalTokens;
  existing.cost = existing.cost === null || usage.cost === null ? null : existing.cost + usage.cost;
  summary.models[model] = existing;
  summary.totalCost =
    summary.totalCost === null || usage.cost === null ? null : summary.totalCost + usage.cost;
  return summary;
}

/** Merges several summaries into a new one. */
export function mergeUsageSummaries(summaries: readonly UsageSummary[]): UsageSummary {
  const merged = emptyUsageSummary();
  for (const summary of summaries) {
    for (const [model, usage] of Object.entries(summary.models)) addUsage(merged, model, usage);
    if (summary.totalCost === null) merged.totalCost = null;
  }
  return merged;
}

/** Counts usage for one client, keeping cached and live calls apart. */
export class UsageTracker {
  #including = emptyUsageSummary();
  #excluding = emptyUsageSummary();

  /** Records one call. Cached answers count only in the "including cached" summary. */
  record(model: string, usage: ModelUsage, cached: boolean): void {
    addUsage(this.#including, model, usage);
    if (!cached) addUsage(this.#excluding, model, usage);
  }

  /** A copy of both summaries. */
  report(): UsageReport {
    return {
      usageIncludingCachedInference: structuredClone(this.#including),
      usageExcludingCachedInference: structuredClone(this.#excluding),
    };
  }

  /** Forgets everything counted so far. */
  clear(): void {
    this.#including = emptyUsageSummary();
    this.#excluding = emptyUsageSummary();
  }
}
