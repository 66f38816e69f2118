import { contentToString, type Message, type ModelRequest } from '@hopgen/agents';
import {
  analystScript,
  coderScript,
  managerScript,
  reviewerScript,
} from '../../../../examples/demo/scripted-replies.js';
import type { RecordedRequest, ScriptedReply } from '../../../agents/test/support/openai-test-server.js';

/** Words a person types to reject a code block in the tests; the team then sends the code again. */
export const REJECTION = 'Rejected by a person: check the data first.';

/**
 * The demo team's scripted replies behind the OpenAI wire format: the agent is recognised by its
 * system message, and each reply is streamed word by word. A rejected run is left out of what the
 * scripts see, so the Coder sends its code again instead of giving up.
 */
export function salesTeamModel(request: RecordedRequest): ScriptedReply {
  const messages = (request.body.messages as Message[]).filter(
    (message) => !contentToString(message.content).includes(REJECTION),
  );
  const system = contentToString(messages[0]?.content ?? '');
  const modelRequest = { messages } as unknown as ModelRequest;
  const script = system.startsWith('You are Coder')
    ? coderScript
    : system.startsWith('You are Analyst')
      ? analystScript
      : system.startsWith('You are Reviewer')
        ? reviewerScript
        : managerScript;
  const text = script(modelRequest);
  return { content: text.match(/\S+\s*/g) ?? [text] };
}
