/** Agents of the group chat's speaker selection: their inner chat is not part of the conversation. */
export const INTERNAL_AGENTS: ReadonlySet<string>;
/** Whether a `message-sent` event's data is a message of the conversation (not an inner chat's, not a relay). */
export function isConversationMessage(data: { sender?: unknown; message?: { name?: unknown } }): boolean;
/** An empty run state (the page's view model). */
export function createRunState(runId: string): Record<string, unknown>;
/** Applies one event; returns false for an event already applied. */
export function applyEvent(
  state: Record<string, unknown>,
  event: { sequence: number; key: string; type: string; time: number; data: Record<string, unknown> },
): boolean;
