/** A message to render: who sent it to whom, when, and what it held. */
export interface RenderedMessage {
  /** Position in the conversation, from 0 (the element id is `message-<index>`). */
  index: number;
  /** Milliseconds since the run started. */
  atMs: number;
  sender: string;
  recipient: string;
  /** The OpenAI chat-completion message. */
  message: {
    role?: string;
    content?: unknown;
    tool_calls?: { function: { name: string; arguments: string } }[];
    tool_responses?: { tool_call_id?: string; content?: unknown }[];
    tool_call_id?: string;
  };
  /** When the message reports a code run: how it went. */
  execution?: { exitCode: number; durationMs: number; languages: string[] };
  /** Images shown with it, by file name. */
  images?: string[];
  /** Still arriving token by token. */
  streaming?: boolean;
}

/** The stylesheet both use: the page links it, report.html inlines it. */
export const RUN_VIEW_STYLE_URL: URL;
/** Agent colours, in order of first appearance. */
export const PALETTE: string[];
/** One message as a list item: avatar, sender → recipient, time, and its text, code, output, tool calls and images. */
export function renderMessage(
  entry: RenderedMessage,
  colors: ReadonlyMap<string, string>,
  imageUri: (name: string) => string | undefined,
): string;
/** The result of a code run: exit code, languages, duration and output. */
export function renderExecution(text: string, execution: NonNullable<RenderedMessage['execution']>): string;
/** A tool call with its arguments (code arguments shown as code). */
export function renderToolCall(name: string, argumentsJson: string): string;
/** A small Markdown subset: fenced code, paragraphs, lists, headings, `code`, **bold**. */
export function renderMarkdown(text: string): string;
/** A code block with its language. */
export function codeBlock(code: string, language: string): string;
/** The text of a message content (image parts become `<image>`). */
export function contentText(content: unknown): string;
/** A cost in dollars. */
export function formatCost(cost: number | null): string;
/** The termination reason in words; an unknown identifier is shown as it is. */
export function describeTermination(reason: string): string;
/** Milliseconds as seconds, or minutes and seconds. */
export function formatSeconds(ms: number): string;
/** One or two letters for an avatar. */
export function initials(name: string): string;
/** Text cut to `length` characters with an ellipsis. */
export function truncate(text: string, length: number): string;
/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string;
