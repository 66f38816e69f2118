// Helpers for testing agents without a model or a person: scripted answers at the model client's boundary.
export { ScriptedHumanInput } from './human-input.js';
export {
  ScriptedModelClient,
  type ScriptedModelClientOptions,
  type ScriptedReply,
} from './model-clients/scripted-model-client.js';
