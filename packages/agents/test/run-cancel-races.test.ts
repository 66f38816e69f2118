import {
  AssistantAgent,
  InMemoryRunStore,
  LeaseLostError,
  type RequestAnswer,
  requestCancel,
  resumeRun,
  startChat,
  UserProxyAgent,
} from '@hopgen/agents';
import { ScriptedModelClient } from '@hopgen/agents/testing';
import { describe, expect, it } from 'vitest';
import { waitingTeam } from './support/waiting-team.js';

/** A promise with its resolve, to let a test decide when a step goes on. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * An in-memory store that counts its answer reads and, once armed, holds any read that returns a
 * cancel until the test lets it go (a slow database at the worst moment).
 */
class GatedStore extends InMemoryRunStore {
  answerReads = 0;
  failAnswerReads = false;
  failAddAnswer = false;
  hold: Promise<void> | undefined;
  /** Resolved when a held read has started. */
  held = gate();

  override async readAnswers(runId: string): Promise<RequestAnswer[]> {
    this.answerReads++;
    if (this.failAnswerReads) throw new Error('the store is down');
    const answers = await super.readAnswers(runId);
    if (this.hold) {
      this.held.open();
      await this.hold;
    }
    return answers;
  }

  override async addAnswer(runId: string, answer: RequestAnswer): Promise<void> {
    if (this.failAddAnswer) throw new Error('the store is down');
    return super.addAnswer(runId, answer);
  }
}

/** An assistant whose one reply waits for `reply` (or fails), and a user who never answers. */
function slowTeam(reply: Promise<void>, fail = false) {
  const called = gate();
  const model = new ScriptedModelClient({
    replies: async () => {
      called.open();
      await reply;
      if (fail) throw new Error('the model is down');
      return 'Done.';
    },
  });
  const assistant = new AssistantAgent({
    name: 'assistant',
    llmConfig: { modelClient: model },
    silent: true,
  });
  const user = new UserProxyAgent({
    name: 'user',
    humanInputMode: 'NEVER',
    silent: true,
    codeExecutionConfig: false,
  });
  return { assistant, user, called: called.promise };
}

describe('a cancel racing the end of the run', () => {
  it('does not make a finished run cancelled when a poll that read the cancel returns after the end', async () => {
    const store = new GatedStore();
    const reply = gate();
    const { assistant, user, called } = slowTeam(reply.promise);
    const run = await startChat(user, assistant, {
      message: 'Hi.',
      store,
      runId: 'late-poll',
      maxTurns: 1,
      cancelPollMs: 10,
    });
    await called;
    const release = gate();
    store.hold = release.promise;
    await store.addAnswer('late-poll', {
      requestId: 'run:cancel:1',
      answer: { cancel: true },
      answeredAt: Date.now(),
    });
    // A poll has read the cancel and is held; the model answers and the run finishes meanwhile.
    await store.held.promise;
    reply.open();
    expect(await run.result).toHaveLength(1);
    expect((await store.readEntries('late-poll', 0)).at(-1)?.type).toBe('run-finished');
    release.open();
    store.hold = undefined;
    // Let the held poll (and a cancel() after the end) finish what they do.
    await new Promise((resolve) => setImmediate(resolve));
    await run.cancel();
    expect(run.cancelled).toBe(false);
  });

  it('cancel() stops the run before storing the cancel, so a slow store cannot let it finish', async () => {
    const store = new GatedStore();
    const reply = gate();
    const { assistant, user, called } = slowTeam(reply.promise);
    const run = await startChat(user, assistant, { message: 'Hi.', store, runId: 'late', maxTurns: 1 });
    await called;
    const release = gate();
    store.hold = release.promise;
    const cancelling = run.cancel();
    await store.held.promise;
    reply.open();
    await run.result;
    release.open();
    await cancelling;
    const last = (await store.readEntries('late', 0)).at(-1);
    expect(last).toMatchObject({ type: 'run-stopped', data: { cancel: 'run:cancel:1' } });
    expect(run.cancelled).toBe(true);
  });

  it('cancel() stops the run even when the store cannot take the cancel, then reports the failure', async () => {
    const store = new GatedStore();
    const { assistant, user } = waitingTeam();
    const run = await startChat(user, assistant, { message: 'Hi.', store, runId: 'store-down' });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    store.failAddAnswer = true;
    await expect(run.cancel()).rejects.toThrow('the store is down');
    expect(run.cancelled).toBe(true);
    expect((await store.readEntries('store-down', 0)).at(-1)).toMatchObject({
      type: 'run-stopped',
      data: { cancel: 'run:cancel:1' },
    });
  });
});

describe('asking for a cancel after the run honoured one', () => {
  it('stores nothing more, so a resume on purpose runs, and a cancel of that resume is a new one', async () => {
    const store = new InMemoryRunStore();
    const first = waitingTeam();
    const run = await startChat(first.user, first.assistant, {
      message: 'Hi.',
      store,
      runId: 'twice',
      cancelPollMs: 10,
    });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    expect(await requestCancel(store, 'twice')).toBe('run:cancel:1');
    await run.result;
    expect(run.cancelled).toBe(true);
    // A second click (or a second server) after the stop: the same cancel, nothing stored.
    expect(await requestCancel(store, 'twice')).toBe('run:cancel:1');
    expect((await store.readAnswers('twice')).map((answer) => answer.requestId)).toEqual(['run:cancel:1']);

    const second = waitingTeam();
    const again = await resumeRun('twice', {
      agents: [second.user, second.assistant],
      store,
      cancelPollMs: 10,
    });
    for await (const event of again.events()) if (event.type === 'run-resumed') break;
    expect(await again.pendingRequests()).toHaveLength(1);
    expect(await requestCancel(store, 'twice')).toBe('run:cancel:2');
    await again.result;
    expect(again.cancelled).toBe(true);
    expect((await store.readEntries('twice', 0)).at(-1)).toMatchObject({
      type: 'run-stopped',
      data: { cancel: 'run:cancel:2' },
    });
  });

  it('stores nothing for a finished run', async () => {
    const store = new InMemoryRunStore();
    const { assistant, user } = slowTeam(Promise.resolve());
    const run = await startChat(user, assistant, { message: 'Hi.', store, runId: 'done', maxTurns: 1 });
    await run.result;
    await requestCancel(store, 'done');
    expect(await store.readAnswers('done')).toEqual([]);
  });
});

describe('the cancel poll', () => {
  const endings = [
    'finished',
    'failed',
    'stopped by the signal',
    'cancelled',
    'with the store down',
  ] as const;
  for (const ending of endings) {
    it(`reads no answers once the run's result has settled (${ending})`, async () => {
      const store = new GatedStore();
      const reply = gate();
      const { assistant, user, called } = slowTeam(reply.promise, ending === 'failed');
      const shutdown = new AbortController();
      const run = await startChat(user, assistant, {
        message: 'Hi.',
        store,
        runId: 'counted',
        maxTurns: 1,
        cancelPollMs: 5,
        signal: shutdown.signal,
      });
      await called;
      if (ending === 'with the store down') store.failAnswerReads = true;
      // Let the poll run a few times while the run is in its model call.
      const readsBefore = store.answerReads;
      while (store.answerReads < readsBefore + 3) await new Promise((resolve) => setTimeout(resolve, 5));
      if (ending === 'stopped by the signal') shutdown.abort();
      if (ending === 'cancelled') await requestCancel(store, 'counted');
      reply.open();
      await run.result.catch(() => undefined);
      const atEnd = store.answerReads;
      // Twenty poll intervals: a poll left running would have read again by now.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(store.answerReads - atEnd).toBe(0);
    });
  }
});

describe('a cancel seen by a process that lost the run', () => {
  it('rejects the result with the lost lease instead of ending as a clean stop', async () => {
    class FencedStore extends InMemoryRunStore {
      fenced = false;
      override async append(...args: Parameters<InMemoryRunStore['append']>) {
        if (this.fenced && args[2] !== undefined) throw new LeaseLostError(`Run ${args[0]} was taken over.`);
        return super.append(...args);
      }
    }
    const store = new FencedStore();
    const { assistant, user } = waitingTeam();
    const run = await startChat(user, assistant, {
      message: 'Hi.',
      store,
      runId: 'fenced',
      cancelPollMs: 10,
    });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    // Another process took the run over (this one was paused) and a cancel was asked meanwhile.
    store.fenced = true;
    await requestCancel(store, 'fenced');
    await expect(run.result).rejects.toBeInstanceOf(LeaseLostError);
    // Nor does it keep looking for cancels of a run it no longer holds.
    let reads = 0;
    const read = store.readAnswers.bind(store);
    store.readAnswers = async (runId) => {
      reads++;
      return read(runId);
    };
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reads).toBe(0);
  });
});

describe('a run waiting for a person', () => {
  it('notices a cancel from the answers its journal reads, without waiting for the cancel poll', async () => {
    const store = new InMemoryRunStore();
    const { assistant, user } = waitingTeam();
    // A poll far longer than the test: only the journal's reads (every 50 ms) can see the cancel.
    const run = await startChat(user, assistant, {
      message: 'Hi.',
      store,
      runId: 'waiting',
      cancelPollMs: 600_000,
    });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    await requestCancel(store, 'waiting');
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((_, reject) => {
      // The journal's 50 ms answer poll, with a generous margin for a loaded machine.
      timer = setTimeout(() => reject(new Error('the run did not notice the cancel')), 10_000);
    });
    await Promise.race([run.result, bound]).finally(() => clearTimeout(timer));
    expect(run.cancelled).toBe(true);
  });

  it('does not read the answers for the cancel poll while its journal reads them', async () => {
    let pollReads = 0;
    let journalReads = 0;
    class CallerCountingStore extends InMemoryRunStore {
      override async readAnswers(runId: string): Promise<RequestAnswer[]> {
        if (new Error().stack?.includes('lookForCancel')) pollReads++;
        else journalReads++;
        return super.readAnswers(runId);
      }
    }
    const store = new CallerCountingStore();
    const { assistant, user } = waitingTeam();
    const run = await startChat(user, assistant, { message: 'Hi.', store, runId: 'quiet', cancelPollMs: 60 });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    const pollReadsAtWait = pollReads;
    // Let the cancel poll come round several times while the journal waits for the answer.
    const journalReadsAtWait = journalReads;
    while (journalReads < journalReadsAtWait + 10) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pollReads - pollReadsAtWait).toBe(0);
    await run.cancel();
  });
});
