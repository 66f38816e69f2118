import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunStore } from '@hopgen/agents';
import { serve } from '@hopgen/server';
import type { FigureSet } from './figures.js';
import type { BenchSettings } from './settings.js';

/** Fills a store with `runs` runs of `entries` one-entry appends each (a message of about 200 bytes). */
async function fillStore(store: FileRunStore, runs: number, entries: number): Promise<void> {
  const text = 'The quarterly numbers are in; revenue grew in every region but one. '.repeat(3);
  for (let run = 0; run < runs; run++) {
    const runId = `listed-${run}`;
    await store.createRun({ runId, createdAt: run, definition: {} });
    for (let index = 0; index < entries; index++) {
      await store.append(runId, [
        { key: `c0.m${index}`, type: 'message-sent', time: run * 1000 + index, data: { content: text } },
      ]);
    }
  }
}

async function timedList(url: string, token: string, runs: number): Promise<number> {
  const startedAt = performance.now();
  const response = await fetch(`${url}/api/runs`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { runs: unknown[] };
  const elapsed = performance.now() - startedAt;
  if (!response.ok || body.runs.length !== runs)
    throw new Error(`run-list bench: GET /api/runs answered ${response.status}`);
  return elapsed;
}

/**
 * `GET /api/runs`, which the page asks for every 2 s, with many stored runs: the first list of a
 * server reads every log whole (baseline, a new server each time), later ones read only what was
 * appended since (here: nothing, as on a page watching finished runs). Five rounds, each a new
 * server with its first list and a fifth of the later lists.
 */
export async function measureRunList(settings: BenchSettings, figures: FigureSet): Promise<void> {
  const { listRuns, entriesPerRun, lists } = settings.serve;
  const directory = await mkdtemp(join(tmpdir(), 'hopgen-bench-list-'));
  try {
    await fillStore(new FileRunStore({ directory }), listRuns, entriesPerRun);
    const first: number[] = [];
    const later: number[] = [];
    for (let round = 0; round < 5; round++) {
      const server = await serve({ pipelines: [], store: new FileRunStore({ directory }) });
      try {
        first.push(await timedList(server.url, server.token, listRuns));
        for (let index = 0; index < lists / 5; index++)
          later.push(await timedList(server.url, server.token, listRuns));
      } finally {
        await server.close();
      }
    }
    const what = `${listRuns} runs of ${entriesPerRun} entries, file store`;
    figures.add('serve.list.first', `GET /api/runs, first list of a server (${what})`, 'ms', first);
    figures.add('serve.list', `GET /api/runs, later lists (${what})`, 'ms', later, {
      baselineId: 'serve.list.first',
      note: "a later list reads only the entries appended since the last one, and each run's answers",
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
