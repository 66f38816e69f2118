import {
  LeaseLostError,
  RequestAnswerError,
  RunLockedError,
  RunNotFoundError,
  type RunStore,
  requestCancel,
} from '@hopgen/agents';
import { describe, expect, it } from 'vitest';

/** How the contract reaches one kind of store. */
export interface RunStoreUnderTest {
  /** A store instance on shared, initially empty data; each call may return a new instance (another process's view). */
  open(): Promise<RunStore>;
  /**
   * Makes `owner`'s lease on `runId` look like its holder died (killed without releasing it), and
   * resolves once another owner may take it. Absent for stores whose leases cannot outlive a process.
   */
  killHolder?(store: RunStore, runId: string, owner: string): Promise<void>;
}

const entry = (key: string) => ({
  key,
  type: 'message-sent',
  time: 1_700_000_000_000,
  data: { key, nested: { z: 1, a: [true, null] } },
});

/**
 * The behaviour every {@link RunStore} shares, run against each store (file, memory, PostgreSQL):
 * what a durable run, a resumer in another process and an answering client rely on.
 */
export function describeRunStoreContract(name: string, setUp: () => RunStoreUnderTest): void {
  describe(`${name}: RunStore contract`, () => {
    const underTest = setUp();

    it('creates a run once, loads its header and lists it', async () => {
      const store = await underTest.open();
      const header = {
        runId: 'created',
        createdAt: 5,
        definition: { kind: 'chat', options: { b: 1, a: 'x' } },
      };
      await store.createRun(header);
      await expect(store.createRun(header)).rejects.toBeInstanceOf(RunLockedError);
      expect(await store.loadRun('created')).toEqual({ header, entries: [], answers: [] });
      expect(await (await underTest.open()).listRuns()).toContain('created');
      expect(await store.loadRun('never-created')).toBeUndefined();
    });

    it('numbers appended entries 1, 2, 3... across appends and keeps their JSON as written', async () => {
      const store = await underTest.open();
      await store.createRun({ runId: 'log', createdAt: 1, definition: {} });
      const first = await store.append('log', [entry('a'), entry('b')]);
      const second = await store.append('log', [entry('c')]);
      expect([...first, ...second].map((added) => `${added.sequence}${added.key}`)).toEqual([
        '1a',
        '2b',
        '3c',
      ]);
      const reader = await underTest.open();
      const all = await reader.readEntries('log', 0);
      expect(all).toEqual([...first, ...second]);
      // Key order survives storage: resumed runs compare entries as JSON.
      expect(JSON.stringify(all[0]?.data)).toBe(JSON.stringify(entry('a').data));
      expect((await reader.readEntries('log', 2)).map((read) => read.key)).toEqual(['c']);
      // Past the last entry, however far: the server checks that a run exists this way.
      expect(await reader.readEntries('log', Number.MAX_SAFE_INTEGER)).toEqual([]);
      expect((await reader.loadRun('log'))?.entries).toEqual(all);
    });

    it('names the missing run when a run that does not exist is used', async () => {
      const store = await underTest.open();
      await expect(store.append('missing', [entry('a')])).rejects.toBeInstanceOf(RunNotFoundError);
      await expect(store.readEntries('missing', 0)).rejects.toThrow(/missing/);
      await expect(store.readEntries('missing', Number.MAX_SAFE_INTEGER)).rejects.toBeInstanceOf(
        RunNotFoundError,
      );
      await expect(
        store.addAnswer('missing', { requestId: 'r', answer: { text: 'x' }, answeredAt: 1 }),
      ).rejects.toBeInstanceOf(RunNotFoundError);
      await expect(store.acquire('missing', 'owner')).rejects.toBeInstanceOf(RunNotFoundError);
      await expect(store.readAnswers('missing')).rejects.toBeInstanceOf(RunNotFoundError);
    });

    it('keeps the first answer to a request and refuses a second one from another instance', async () => {
      const store = await underTest.open();
      await store.createRun({ runId: 'answers', createdAt: 1, definition: {} });
      await store.addAnswer('answers', {
        requestId: 'chat0/ask1',
        answer: { text: 'first' },
        answeredAt: 10,
      });
      await store.addAnswer('answers', {
        requestId: 'chat0/ask2',
        answer: { approved: true },
        answeredAt: 11,
      });
      const other = await underTest.open();
      await expect(
        other.addAnswer('answers', { requestId: 'chat0/ask1', answer: { text: 'second' }, answeredAt: 12 }),
      ).rejects.toBeInstanceOf(RequestAnswerError);
      expect(await other.readAnswers('answers')).toEqual([
        { requestId: 'chat0/ask1', answer: { text: 'first' }, answeredAt: 10 },
        { requestId: 'chat0/ask2', answer: { approved: true }, answeredAt: 11 },
      ]);
    });

    it('accepts exactly one of two answers given at once', async () => {
      const store = await underTest.open();
      await store.createRun({ runId: 'race', createdAt: 1, definition: {} });
      const [first, second] = [await underTest.open(), await underTest.open()];
      const outcomes = await Promise.allSettled([
        first.addAnswer('race', { requestId: 'r', answer: { text: 'one' }, answeredAt: 1 }),
        second.addAnswer('race', { requestId: 'r', answer: { text: 'two' }, answeredAt: 1 }),
      ]);
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
      const winner = outcomes[0]?.status === 'fulfilled' ? 'one' : 'two';
      expect((await store.readAnswers('race')).map((answer) => answer.answer['text'])).toEqual([winner]);
    });

    it('stores one cancel when two instances ask for it at once, and both see it', async () => {
      const store = await underTest.open();
      await store.createRun({ runId: 'cancelled', createdAt: 1, definition: {} });
      const [first, second] = [await underTest.open(), await underTest.open()];
      const asked = await Promise.all([
        requestCancel(first, 'cancelled'),
        requestCancel(second, 'cancelled'),
      ]);
      expect(asked).toEqual(['run:cancel:1', 'run:cancel:1']);
      expect((await store.readAnswers('cancelled')).map((answer) => answer.requestId)).toEqual([
        'run:cancel:1',
      ]);
    });

    it('gives the lease to one owner at a time and back on release', async () => {
      const store = await underTest.open();
      await store.createRun({ runId: 'lease', createdAt: 1, definition: {} });
      await store.acquire('lease', 'first');
      await store.acquire('lease', 'first');
      const other = await underTest.open();
      await expect(other.acquire('lease', 'second')).rejects.toBeInstanceOf(RunLockedError);
      await store.release('lease', 'second'); // not the holder: changes nothing
      await expect(other.acquire('lease', 'second')).rejects.toBeInstanceOf(RunLockedError);
      await store.release('lease', 'first');
      await other.acquire('lease', 'second');
      await other.release('lease', 'second');
    });

    it("refuses a fenced append from an owner that does not hold the run's lease, and writes nothing", async () => {
      const store = await underTest.open();
      await store.createRun({ runId: 'fenced', createdAt: 1, definition: {} });
      await expect(store.append('fenced', [entry('unleased')], 'first')).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      await store.acquire('fenced', 'first');
      await store.append('fenced', [entry('a')], 'first');
      await store.release('fenced', 'first');
      const other = await underTest.open();
      await other.acquire('fenced', 'second');
      const refused = store.append('fenced', [entry('stale')], 'first');
      await expect(refused).rejects.toBeInstanceOf(LeaseLostError);
      await expect(refused).rejects.toThrow(/no longer leased to this writer/);
      await other.append('fenced', [entry('b')], 'second');
      await store.append('fenced', [entry('unfenced')]); // without an owner: as before, not checked
      expect((await other.readEntries('fenced', 0)).map((read) => `${read.sequence}${read.key}`)).toEqual([
        '1a',
        '2b',
        '3unfenced',
      ]);
      await other.release('fenced', 'second');
    });

    const killHolder = underTest.killHolder;
    if (killHolder) {
      it("lets exactly one of two resumers take over a dead holder's lease", async () => {
        const store = await underTest.open();
        await store.createRun({ runId: 'takeover', createdAt: 1, definition: {} });
        await store.acquire('takeover', 'dead-owner');
        await killHolder(store, 'takeover', 'dead-owner');
        const [first, second] = [await underTest.open(), await underTest.open()];
        const outcomes = await Promise.allSettled([
          first.acquire('takeover', 'first'),
          second.acquire('takeover', 'second'),
        ]);
        expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
        const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
        expect(refused.reason).toBeInstanceOf(RunLockedError);
      });

      it('refuses appends from a holder whose lease was taken over while it was away', async () => {
        const store = await underTest.open();
        await store.createRun({ runId: 'fenced-takeover', createdAt: 1, definition: {} });
        await store.acquire('fenced-takeover', 'dead-owner');
        await store.append('fenced-takeover', [entry('before')], 'dead-owner');
        await killHolder(store, 'fenced-takeover', 'dead-owner');
        const successor = await underTest.open();
        await successor.acquire('fenced-takeover', 'successor');
        // The old holder comes back (a paused process; killHolder may have closed its instance, so it
        // writes through a new one): its append must not land in the new holder's log.
        const returned = await underTest.open();
        await expect(
          returned.append('fenced-takeover', [entry('stale')], 'dead-owner'),
        ).rejects.toBeInstanceOf(LeaseLostError);
        await successor.append('fenced-takeover', [entry('after')], 'successor');
        expect((await successor.readEntries('fenced-takeover', 0)).map((read) => read.key)).toEqual([
          'before',
          'after',
        ]);
        await successor.release('fenced-takeover', 'successor');
      });
    }
  });
}
