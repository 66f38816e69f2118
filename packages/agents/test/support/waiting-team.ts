import { AssistantAgent, UserProxyAgent } from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';

/** A user who answers nobody (the run waits for a person) and an assistant whose model counts its calls. */
export function waitingTeam() {
  const model = new ScriptedModelClient({ replies: () => 'Hello.' });
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: { modelClient: model },
    silent: true,
  });
  const user = new UserProxyAgent({ name: 'user', humanInputMode: 'ALWAYS', silent: true });
  return { model, assistant, user };
}
