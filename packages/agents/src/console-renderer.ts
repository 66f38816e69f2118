import { contentToString, type Message } from './message.js';

/** Draws the transcript for people. Agents call it unless they are silent. */
export interface TranscriptRenderer {
  /** A message arrived: `sender (to recipient):`, the content, a line of 80 dashes. */
  messageReceived(message: Message, senderName: string, recipientName: string): void;
  /** A status line such as `>>>>>>>> USING AUTO REPLY...` or `Next speaker: coder`. */
  notice(text: string, tone?: 'info' | 'warning' | 'code'): void;
}

const colors = { yellow: 33, green: 32, red: 31, cyan: 36, magenta: 35 } as const;

/** Writes AutoGen's familiar transcript to a stream, coloured when it is a TTY. */
export class ConsoleRenderer implements TranscriptRenderer {
  readonly #write: (text: string) => void;
  readonly #color: boolean;

  constructor(options: { stream?: NodeJS.WritableStream & { isTTY?: boolean }; color?: boolean } = {}) {
    const stream = options.stream ?? process.stdout;
    this.#write = (text) => stream.write(text);
    this.#color = options.color ?? (Boolean(stream.isTTY) && !process.env['NO_COLOR']);
  }

  #paint(text: string, color: keyof typeof colors): string {
    return this.#color ? `\u001b[${colors[color]}m${text}\u001b[0m` : text;
  }

  messageReceived(message: Message, senderName: string, recipientName: string): void {
    const lines: string[] = [`${this.#paint(senderName, 'yellow')} (to ${recipientName}):\n`];
    if (message.role === 'tool' || message.tool_responses) {
      if (message.role !== 'tool' && message.content) lines.push(contentToString(message.content));
      for (const response of message.tool_responses ?? [message]) {
        const banner = `***** Response from calling tool (${response.tool_call_id ?? 'No id found'}) *****`;
        lines.push(this.#paint(banner, 'green'));
        lines.push(contentToString(response.content));
        lines.push(this.#paint('*'.repeat(banner.length), 'green'));
      }
    } else {
      // AutoGen prints any content that is not None, so an empty message still gets its (empty) line.
      if (message.content !== null && message.content !== undefined)
        lines.push(contentToString(message.content));
      for (const call of message.tool_calls ?? []) {
        const banner = `***** Suggested tool call (${call.id}): ${call.function.name} *****`;
        lines.push(this.#paint(banner, 'green'));
        lines.push(`Arguments: \n${call.function.arguments}`);
        lines.push(this.#paint('*'.repeat(banner.length), 'green'));
      }
    }
    this.#write(`${lines.join('\n')}\n\n${'-'.repeat(80)}\n`);
  }

  notice(text: string, tone: 'info' | 'warning' | 'code' = 'info'): void {
    const color = tone === 'warning' ? 'yellow' : tone === 'code' ? 'red' : 'green';
    this.#write(`${this.#paint(text, color)}\n`);
  }
}
