import type { RecordedRequest, ScriptedReply } from '../../../agents/test/support/openai-test-server.js';

/** The line a job's block of chat `chat` appends to `blocks.log` in the job's sandbox. */
export const blockLine = (job: number, chat: number) => `job-${job}-chat-${chat}`;

/**
 * The model of the test pipelines, at the wire level: each chat's first answer is a block that
 * appends its line to blocks.log in the sandbox and then sleeps `sleepSeconds` (so a worker can be
 * killed while it runs); the third chat then asks for a read-only report of the file; a chat ends
 * once its block's output came back. A deterministic function of the request, as a resumed run
 * requires.
 */
export function scriptedCoder(
  sleepSeconds: number | ((job: number, chat: number) => number),
  failingJobs: readonly number[] = [],
) {
  return (request: RecordedRequest): ScriptedReply => {
    const messages = request.body.messages as { role: string; content: string }[];
    const opening = messages.find((message) => message.role === 'user')?.content ?? '';
    const [, job = '0', chat = '0'] = /job (\d+) chat (\d+)/.exec(opening) ?? [];
    const last = String(messages.at(-1)?.content ?? '');
    if (failingJobs.includes(Number(job)))
      return { kind: 'error', status: 500, message: `model down for job ${job}` };
    const done = { content: `Chat ${chat} of job ${job} done. TERMINATE` };
    const sleep = typeof sleepSeconds === 'number' ? sleepSeconds : sleepSeconds(Number(job), Number(chat));
    if (!last.startsWith('exitcode:')) {
      const line = blockLine(Number(job), Number(chat));
      return {
        content: `\`\`\`python\nimport time\nwith open('blocks.log', 'a') as log:\n    log.write('${line}\\n')\ntime.sleep(${sleep})\nprint('appended ${line}')\n\`\`\``,
      };
    }
    if (last.includes('REPORT [')) return done;
    if (chat === '3')
      return { content: "```python\nprint('REPORT', open('blocks.log').read().split())\n```" };
    return done;
  };
}
