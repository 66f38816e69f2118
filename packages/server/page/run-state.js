// A run's view model, built from its events one at a time: the page applies every event it receives
// (replayed or live), so a reload rebuilds the same state from the server's stored events.

/** Agents of the group chat's speaker selection: their inner chat is not part of the conversation. */
export const INTERNAL_AGENTS = new Set(['checking_agent', 'speaker_selection_agent']);

/**
 * Whether a `message-sent` event's data is a message of the conversation: not the speaker
 * selection's inner chat, and not a group chat manager relaying a message to each member (the
 * speaker's own send is the one shown).
 */
export function isConversationMessage(data) {
  const message = data.message ?? {};
  return !INTERNAL_AGENTS.has(data.sender) && (message.name === undefined || message.name === data.sender);
}

/** An empty run state. */
export function createRunState(runId) {
  return {
    runId,
    /** Every sequence number applied, in order: a reload must give 1..n with no gap and no repeat. */
    sequences: [],
    /** Events received twice (ignored). */
    duplicates: 0,
    lastSequence: 0,
    startedAt: undefined,
    lastTime: undefined,
    status: 'running',
    messages: [],
    /** Messages being streamed, by the model call's step id. */
    streaming: new Map(),
    /** Code running now, by agent: its blocks and the output streamed so far. */
    running: new Map(),
    /** Results of code runs waiting for the message that reports them, by agent. */
    executions: new Map(),
    codeStarted: new Map(),
    charts: [],
    requests: new Map(),
    speakers: [],
    cost: 0,
    tokens: 0,
    termination: undefined,
    results: undefined,
    error: undefined,
  };
}

/** Applies one event (`{ sequence, key, type, time, data }`); returns false for an event already applied. */
export function applyEvent(state, event) {
  if (event.sequence <= state.lastSequence) {
    state.duplicates += 1;
    return false;
  }
  state.sequences.push(event.sequence);
  state.lastSequence = event.sequence;
  state.startedAt ??= event.time;
  state.lastTime = event.time;
  const at = event.time - state.startedAt;
  const data = event.data;
  switch (event.type) {
    case 'text-delta': {
      if (INTERNAL_AGENTS.has(data.agent)) break;
      let message = state.streaming.get(data.messageId);
      if (!message) {
        message = {
          index: state.messages.length,
          atMs: at,
          sender: data.agent,
          recipient: '…',
          message: { role: 'assistant', content: '' },
          streaming: true,
        };
        state.streaming.set(data.messageId, message);
        state.messages.push(message);
      }
      message.message.content += data.delta;
      break;
    }
    case 'message-sent': {
      if (!isConversationMessage(data)) break;
      const message = data.message ?? {};
      const streamed = data.messageId === undefined ? undefined : state.streaming.get(data.messageId);
      const entry = {
        index: streamed ? streamed.index : state.messages.length,
        atMs: streamed ? streamed.atMs : at,
        sender: data.sender,
        recipient: data.recipient,
        message,
      };
      const execution = state.executions.get(data.sender);
      const text = typeof message.content === 'string' ? message.content : '';
      if (execution && text.startsWith('exitcode:')) {
        state.executions.delete(data.sender);
        entry.execution = execution.execution;
        if (execution.images.length > 0) entry.images = execution.images;
      }
      if (streamed) {
        state.streaming.delete(data.messageId);
        state.messages[streamed.index] = entry;
      } else {
        state.messages.push(entry);
      }
      break;
    }
    case 'code-execution-start':
      state.running.set(data.agent, { codeBlocks: data.codeBlocks ?? [], output: '', startedAt: at });
      state.codeStarted.set(data.agent, event.time);
      break;
    case 'code-output': {
      const running = state.running.get(data.agent);
      // Chunks of stdout and stderr in the order printed, merged per 50 ms by the run.
      if (running) running.output += (data.chunks ?? []).map((chunk) => chunk.text).join('');
      break;
    }
    case 'code-execution-end': {
      state.running.delete(data.agent);
      const result = data.result ?? {};
      const images = (Array.isArray(result.outputFiles) ? result.outputFiles : [])
        .filter((file) => typeof file === 'string' && file.endsWith('.png'))
        .map((file) => file.split('/').pop());
      for (const image of images) if (!state.charts.includes(image)) state.charts.push(image);
      const started = state.codeStarted.get(data.agent) ?? event.time;
      state.executions.set(data.agent, {
        execution: {
          exitCode: result.exitCode ?? 1,
          durationMs: event.time - started,
          languages: (data.codeBlocks ?? []).map((block) => block.language),
        },
        images,
      });
      break;
    }
    case 'human-input-requested':
    case 'approval-requested':
      state.requests.set(event.key, {
        requestId: event.key,
        kind: event.type === 'approval-requested' ? 'approval' : 'human-input',
        data,
      });
      break;
    case 'human-input-provided':
    case 'approval-decided':
      state.requests.delete(event.key.replace(/\.end$/, ''));
      break;
    case 'speaker-selected':
      state.speakers.push({ speaker: data.speaker, round: data.round, atMs: at });
      break;
    case 'model-call-end': {
      const usage = data.result?.usage;
      if (usage) {
        state.cost += usage.cost ?? 0;
        state.tokens += usage.totalTokens ?? 0;
      }
      break;
    }
    case 'chat-terminated':
      if (!INTERNAL_AGENTS.has(data.agent)) state.termination = { reason: data.reason, detail: data.detail };
      break;
    case 'run-finished':
      state.status = 'finished';
      state.results = data.results;
      break;
    case 'run-failed':
      state.status = 'failed';
      state.error = data.error;
      break;
    case 'run-stopped':
      state.status = 'stopped';
      break;
    default:
      if (state.status !== 'running' && !event.type.startsWith('run-')) state.status = 'running';
  }
  if (event.type !== 'run-finished' && event.type !== 'run-failed' && event.type !== 'run-stopped') {
    if (state.status === 'stopped' || state.status === 'failed') state.status = 'running';
  }
  return true;
}
