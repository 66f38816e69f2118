import type OpenAI from 'openai';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** One answer rebuilt from streamed chunks. */
export interface AssembledCompletion {
  model: string;
  content: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string | undefined;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
  /** False when no chunk carried a choice (the stream's equivalent of an empty choice list). */
  hadChoice: boolean;
}

/**
 * Rebuilds one chat completion from SSE chunks: text fragments are concatenated and tool-call fragments
 * are merged by their `index` (the id and name arrive first, the arguments in pieces).
 */
export class StreamAssembler {
  #model = '';
  #content: string[] = [];
  #sawContent = false;
  #toolCalls = new Map<number, { id: string; name: string; arguments: string }>();
  #finishReason: string | undefined;
  #usage: AssembledCompletion['usage'];
  #hadChoice = false;

  /** Adds a chunk and returns its text fragment ('' when it has none). Only the first choice is kept. */
  add(chunk: Chunk): string {
    if (chunk.model) this.#model = chunk.model;
    if (chunk.usage) this.#usage = chunk.usage;
    const choice = chunk.choices?.find((candidate) => (candidate.index ?? 0) === 0);
    if (!choice) return '';
    this.#hadChoice = true;
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
    const delta = choice.delta ?? {};
    for (const fragment of delta.tool_calls ?? []) {
      const existing = this.#toolCalls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
      if (fragment.id) existing.id = fragment.id;
      if (fragment.function?.name) existing.name += fragment.function.name;
      if (fragment.function?.arguments) existing.arguments += fragment.function.arguments;
      this.#toolCalls.set(fragment.index, existing);
    }
    if (typeof delta.content === 'string') {
      this.#sawContent = true;
      this.#content.push(delta.content);
      return delta.content;
    }
    return '';
  }

  /** The completion so far. */
  result(): AssembledCompletion {
    const content = this.#content.join('');
    return {
      model: this.#model,
      content: this.#sawContent && content !== '' ? content : null,
      toolCalls: [...this.#toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
      finishReason: this.#finishReason,
      usage: this.#usage,
      hadChoice: this.#hadChoice,
    };
  }
}
