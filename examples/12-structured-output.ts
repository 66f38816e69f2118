// Typed answers from a model: a zod schema as `responseFormat`. Runs offline: the model is scripted,
// and its first answer breaks the schema, so hopgen sends the issues back and gets a valid one.
import { AssistantAgent, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { z } from 'zod';

const Invoice = z.object({
  customer: z.string(),
  totalEur: z.number().positive(),
  paid: z.boolean(),
});

const model = new ScriptedModelClient({
  replies: [
    '{"customer": "ACME", "totalEur": "1,250"}', // a string where a number belongs, and no `paid`
    '{"customer": "ACME", "totalEur": 1250, "paid": false}',
  ],
});
const extractor = new AssistantAgent({
  name: 'extractor',
  systemMessage: 'Extract the invoice fields as JSON.',
  llmConfig: { modelClient: model },
  responseFormat: { schema: Invoice, name: 'invoice' },
});
const user = new UserProxyAgent({ name: 'user', humanInputMode: 'NEVER', codeExecutionConfig: false });

const result = await user.initiateChat(extractor, {
  message: 'Invoice 17 for ACME: 1,250 EUR, payment pending.',
  maxTurns: 1,
});
const invoice = Invoice.parse(result.chatHistory.at(-1)?.parsed); // typed: { customer, totalEur, paid }
console.log(`\nThe model was asked again with: ${model.requests[1]?.messages.at(-1)?.content}`);
console.log(`Typed value: ${invoice.customer} owes ${invoice.totalEur} EUR (paid: ${invoice.paid})`);
