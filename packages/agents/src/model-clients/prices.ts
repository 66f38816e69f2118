/**
 * OpenAI list prices (standard tier, US dollars per **1 million** tokens: `[input, output]`), as published
 * on openai.com/api/pricing. Only prices we know for certain are listed; any other model counts tokens and
 * reports its cost as unknown (`null`) unless its config gives a `price`. Cached-input discounts are not
 * applied (AutoGen does not apply them either), so costs of prompt-cached calls are upper bounds.
 */
export const OPENAI_PRICES_PER_MILLION: Readonly<Record<string, readonly [number, number]>> = {
  'gpt-5': [1.25, 10],
  'gpt-5-mini': [0.25, 2],
  'gpt-5-nano': [0.05, 0.4],
  'gpt-4.1': [2, 8],
  'gpt-4.1-mini': [0.4, 1.6],
  'gpt-4.1-nano': [0.1, 0.4],
  'gpt-4o': [2.5, 10],
  'gpt-4o-2024-05-13': [5, 15],
  'gpt-4o-mini': [0.15, 0.6],
  o1: [15, 60],
  'o1-mini': [1.1, 4.4],
  o3: [2, 8],
  'o3-mini': [1.1, 4.4],
  'o4-mini': [1.1, 4.4],
  'gpt-4-turbo': [10, 30],
  'gpt-4': [30, 60],
  'gpt-3.5-turbo': [0.5, 1.5],
};

/** Dated snapshots (`gpt-4o-mini-2024-07-18`) are priced like their family unless listed themselves. */
const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

/** The `[input, output]` price per 1M tokens of an OpenAI model, or `undefined` when it is not known. */
export function knownModelPrice(model: string): readonly [number, number] | undefined {
  const exact = OPENAI_PRICES_PER_MILLION[model];
  if (exact) return exact;
  const family = model.replace(SNAPSHOT_SUFFIX, '');
  return family === model ? undefined : OPENAI_PRICES_PER_MILLION[family];
}

/**
 * Cost in US dollars of one call, or `null` when the price is unknown. `pricePer1k` is a config's
 * `price` override (`[prompt, completion]` per 1,000 tokens, AutoGen's unit) and wins over the table;
 * otherwise the table is looked up for each of `models` in turn (the answering model, then the one asked).
 */
export function computeCost(
  models: readonly string[],
  promptTokens: number,
  completionTokens: number,
  pricePer1k?: readonly [number, number],
): number | null {
  if (pricePer1k) return (promptTokens * pricePer1k[0] + completionTokens * pricePer1k[1]) / 1000;
  for (const model of models) {
    const price = knownModelPrice(model);
    if (price) return (promptTokens * price[0] + completionTokens * price[1]) / 1_000_000;
  }
  return null;
}
