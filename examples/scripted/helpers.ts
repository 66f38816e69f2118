import { contentToString, type Message, type ModelRequest } from '@hopgen/agents';

/**
 * Helpers for the offline scripts. A scripted reply that comments on a result is a function of the
 * request: it reads the sandbox's real output from the conversation instead of assuming it.
 */

/** A code run as reported in the conversation (`exitcode: N (...)\nCode output: ...`). */
export interface ReportedExecution {
  exitCode: number;
  output: string;
}

/** Parses a code-execution reply, or returns undefined for any other message. */
export function parseExecution(message: Message | undefined): ReportedExecution | undefined {
  const text = contentToString(message?.content);
  const match = /^exitcode: (-?\d+) \([^)]*\)\nCode output: ?([\s\S]*)$/.exec(text);
  return match ? { exitCode: Number(match[1]), output: match[2]! } : undefined;
}

/** The non-system messages of a request, oldest first. */
export function conversation(request: ModelRequest): Message[] {
  return request.messages.filter((message) => message.role !== 'system');
}

/** The last message of the request that is not the system prompt. */
export function lastMessage(request: ModelRequest): Message | undefined {
  return conversation(request).at(-1);
}

/** Every code run reported in the request, oldest first. */
export function executions(request: ModelRequest): ReportedExecution[] {
  return conversation(request).flatMap((message) => {
    const execution = parseExecution(message);
    return execution ? [execution] : [];
  });
}

/** The first capture group of `pattern` in `text`, or `fallback` when it does not match. */
export function capture(text: string, pattern: RegExp, fallback = '(not found in the output)'): string {
  return pattern.exec(text)?.[1]?.trim() ?? fallback;
}

/** A fenced Python block. */
export function python(code: string): string {
  return `\`\`\`python\n${code.trim()}\n\`\`\``;
}

/** The honest reply to a failed run: quote the error and stop, rather than pretend. */
export function reportFailure(execution: ReportedExecution): string {
  const tail = execution.output.trim().split('\n').slice(-6).join('\n');
  return `The code failed with exit code ${execution.exitCode}:\n\n\`\`\`\n${tail}\n\`\`\`\n\nThis offline script has no fix for that, so I am stopping here.\n\nTERMINATE`;
}
