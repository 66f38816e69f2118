import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  definePipeline,
  FileRunStore,
  InMemoryRunStore,
  InvalidOptionError,
  requestCancel,
  resumeRun,
  startChat,
  startPipeline,
} from '@hopgen/agents';
import { afterEach, describe, expect, it } from 'vitest';
import { waitingTeam } from './support/waiting-team.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
function folder(): string {
  const directory = mkdtempSync(join(tmpdir(), 'hopgen-run-cancel-'));
  folders.push(directory);
  return directory;
}

describe('a cancel stored with the run', () => {
  it('stops the run that another store instance (another process) holds, within its cancelPollMs', async () => {
    const directory = folder();
    const { assistant, user } = waitingTeam();
    const run = await startChat(user, assistant, {
      message: 'Hi.',
      store: new FileRunStore({ directory }),
      runId: 'elsewhere',
      cancelPollMs: 100,
    });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    // Another process's view of the same folder: nothing of the run's object, only the files.
    const other = new FileRunStore({ directory });
    expect(await requestCancel(other, 'elsewhere')).toBe('run:cancel:1');
    // Asking again is the same cancel. (Deterministic only because FileRunStore's writes are
    // synchronous: the second request reads the first one's answer file; concurrent requests to a
    // store that is not are the same cancel too, through storeCancel's duplicate check.)
    expect(await requestCancel(other, 'elsewhere')).toBe('run:cancel:1');
    await run.result;
    expect(run.cancelled).toBe(true);
    const entries = await other.readEntries('elsewhere', 0);
    expect(entries.at(-1)).toMatchObject({ type: 'run-stopped', data: { cancel: 'run:cancel:1' } });
    const answers = await other.readAnswers('elsewhere');
    const askedAt = answers.find((answer) => answer.requestId === 'run:cancel:1')!.answeredAt;
    // One poll (100 ms) and the time to write the stop; far below the 1 s default.
    expect(entries.at(-1)!.time - askedAt).toBeLessThan(1000);
  });

  it('stops a run nobody held before it does anything when it is resumed, and a resumed run can be cancelled again', async () => {
    const directory = folder();
    const store = new FileRunStore({ directory });
    const first = waitingTeam();
    const shutdown = new AbortController();
    const run = await startChat(first.user, first.assistant, {
      message: 'Hi.',
      store,
      runId: 'orphan',
      signal: shutdown.signal,
    });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    // The process goes away (a deploy): the run is stopped, not cancelled, and waits for a resume.
    shutdown.abort();
    await run.result;
    expect(run.cancelled).toBe(false);
    const written = (await store.readEntries('orphan', 0)).length;
    await requestCancel(new FileRunStore({ directory }), 'orphan');

    const second = waitingTeam();
    const resumed = await resumeRun('orphan', { agents: [second.user, second.assistant], store });
    await resumed.result;
    expect(resumed.cancelled).toBe(true);
    expect(second.model.requestCount).toBe(0);
    const entries = await store.readEntries('orphan', 0);
    // Only the stop: no message, no request, no model call after the cancel.
    expect(entries.slice(written).map((entry) => [entry.type, entry.data['cancel']])).toEqual([
      ['run-stopped', 'run:cancel:1'],
    ]);

    // Resumed on purpose after the cancel, it runs again; a new cancel is a new request.
    const third = waitingTeam();
    const again = await resumeRun('orphan', { agents: [third.user, third.assistant], store });
    // The resume writes run-resumed first: from then on a cancel is a new request.
    for await (const event of again.events()) if (event.type === 'run-resumed') break;
    expect(await again.pendingRequests()).toHaveLength(1);
    expect(await requestCancel(store, 'orphan')).toBe('run:cancel:2');
    await again.cancel();
    expect(again.cancelled).toBe(true);
    expect((await store.readEntries('orphan', 0)).at(-1)).toMatchObject({
      type: 'run-stopped',
      data: { cancel: 'run:cancel:2' },
    });
  });

  it('refuses a cancelPollMs that is not a positive number or longer than a Node timer, before storing or building anything', async () => {
    const directory = folder();
    const store = new FileRunStore({ directory });
    const { assistant, user } = waitingTeam();
    await expect(
      startChat(user, assistant, { message: 'Hi.', store, runId: 'bad', cancelPollMs: 0 }),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      startChat(user, assistant, { message: 'Hi.', store, cancelPollMs: Number.NaN }),
    ).rejects.toThrow(/cancelPollMs must be a number of milliseconds from 1 to 2147483647/);
    // Node turns a longer timer into a 1 ms one: the poll would read the store in a tight loop.
    await expect(startChat(user, assistant, { message: 'Hi.', store, cancelPollMs: 1e10 })).rejects.toThrow(
      /from 1 to 2147483647/,
    );
    expect(await store.listRuns()).toEqual([]);

    // A snapshot is not imported into the store, and a pipeline builds nothing, for a bad option.
    const source = waitingTeam();
    const shutdown = new AbortController();
    const run = await startChat(source.user, source.assistant, {
      message: 'Hi.',
      store: new InMemoryRunStore(),
      runId: 'snapshotted',
      signal: shutdown.signal,
    });
    for await (const event of run.events()) if (event.type === 'human-input-requested') break;
    const snapshot = await run.snapshot();
    shutdown.abort();
    await run.result;
    const target = new InMemoryRunStore();
    await expect(
      resumeRun(snapshot, { agents: [source.user, source.assistant], store: target, cancelPollMs: 0 }),
    ).rejects.toThrow(InvalidOptionError);
    expect(await target.listRuns()).toEqual([]);
    let builds = 0;
    const pipeline = definePipeline({
      name: 'counted',
      build: () => {
        builds++;
        const team = waitingTeam();
        return {
          agents: [team.user, team.assistant],
          chat: { sender: team.user, recipient: team.assistant, message: 'Hi.' },
        };
      },
    });
    await expect(startPipeline(pipeline, undefined, { store, cancelPollMs: -1 })).rejects.toThrow(
      InvalidOptionError,
    );
    expect(builds).toBe(0);
  });
});
