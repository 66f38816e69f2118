import { contentToString, defineTool, type ModelRequest } from '@hopgen/agents';
import type { ScriptedReply } from '@hopgen/agents/testing';
import { z } from 'zod';

/** Offline replies of the analyst: a tool call, then a code block using its answer, then the result. */
export function analystScript(request: ModelRequest): ScriptedReply {
  const seen = request.messages.map((message) => contentToString(message.content)).join('\n');
  if (!request.messages.some((message) => message.role === 'tool')) {
    return {
      content: null,
      tool_calls: [
        {
          id: 'call_rates',
          type: 'function',
          function: { name: 'exchange_rate', arguments: '{"currency":"USD"}' },
        },
      ],
    };
  }
  if (!seen.includes('exitcode:')) {
    return 'Converting the three invoices:\n```python\nrate = 1.08\ninvoices = [250, 1200, 75]\nprint(f"Total: {sum(invoices) * rate:.2f} USD")\n```';
  }
  return `${seen.match(/Total: [\d.]+ USD/)?.[0] ?? 'No total'} at 1.08 USD per EUR. TERMINATE`;
}

/** The analyst's tool: the EUR exchange rate, fixed for the example. */
export const exchangeRate = defineTool({
  name: 'exchange_rate',
  description: 'EUR to the given currency',
  parameters: z.object({ currency: z.string() }),
  execute: ({ currency }) => ({ currency, perEuro: 1.08 }),
});
