import type { LlmConfig } from '@hopgen/agents';
import { ScriptedModelClient, type ScriptedModelClientOptions } from '@hopgen/agents/testing';

let announced = false;

/**
 * The model an example's agent talks to: OpenAI when `OPENAI_API_KEY` is set (`OPENAI_BASE_URL` for
 * any OpenAI-compatible server, `OPENAI_MODEL` for the model), otherwise the replies written for the
 * example, which is said once on standard output. Either way the code really runs in the sandbox.
 */
export function llmConfigFor(replies: ScriptedModelClientOptions['replies']): LlmConfig {
  if (process.env['OPENAI_API_KEY'] || process.env['OPENAI_BASE_URL']) {
    return { configList: [{ model: process.env['OPENAI_MODEL'] ?? 'gpt-4o-mini' }] };
  }
  if (!announced) {
    announced = true;
    console.log(
      'No OPENAI_API_KEY: the model is replaced by replies written for this example. Their code really runs in the sandbox.\n',
    );
  }
  return { modelClient: new ScriptedModelClient({ replies }) };
}
