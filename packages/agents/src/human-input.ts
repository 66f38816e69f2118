import { createInterface } from 'node:readline/promises';
import { HumanInputError } from './errors.js';

/** Where an agent gets human input from. */
export interface HumanInputProvider {
  /** Shows `prompt` and resolves with what the human answered (`''` to skip, `'exit'` to end the chat). */
  getInput(prompt: string): Promise<string>;
}

/** Reads answers from the terminal (standard input). The default provider. */
export class TerminalHumanInput implements HumanInputProvider {
  async getInput(prompt: string): Promise<string> {
    if (!process.stdin.isTTY && process.stdin.readableEnded) {
      throw new HumanInputError(
        'Human input was requested but standard input is closed. Set humanInputMode to "NEVER" or pass a humanInput provider.',
      );
    }
    const readline = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return await readline.question(prompt);
    } finally {
      readline.close();
    }
  }
}

/** Answers from a fixed list, in order. For tests and scripted demos. */
export class ScriptedHumanInput implements HumanInputProvider {
  readonly #answers: string[];
  /** Every prompt that was shown, in order. */
  readonly prompts: string[] = [];

  constructor(answers: readonly string[]) {
    this.#answers = [...answers];
  }

  async getInput(prompt: string): Promise<string> {
    this.prompts.push(prompt);
    const answer = this.#answers.shift();
    if (answer === undefined) {
      throw new HumanInputError(
        `ScriptedHumanInput ran out of answers at prompt ${JSON.stringify(prompt)}. Add more answers or set humanInputMode to "NEVER".`,
      );
    }
    return answer;
  }
}
