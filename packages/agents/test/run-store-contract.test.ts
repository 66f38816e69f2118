import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunStore, InMemoryRunStore } from '@hopgen/agents';
import { afterAll } from 'vitest';
import { describeRunStoreContract } from './support/run-store-contract.js';

const directory = mkdtempSync(join(tmpdir(), 'hopgen-store-contract-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describeRunStoreContract('FileRunStore', () => ({
  open: async () => new FileRunStore({ directory }),
  killHolder: async (_store, runId) => {
    // The lease names its holder's pid: make it a process that has exited, as a killed holder's would.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    const folder = join(directory, runId);
    for (const name of readdirSync(folder).filter((name) => name.startsWith('lease'))) {
      writeFileSync(join(folder, name), JSON.stringify({ owner: 'dead-owner', pid: dead }));
    }
  },
}));

// One instance stands for every reader: its runs live in this process's memory only.
const memory = new InMemoryRunStore();
describeRunStoreContract('InMemoryRunStore', () => ({ open: async () => memory }));
