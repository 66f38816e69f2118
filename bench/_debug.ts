import { readFileSync } from 'node:fs';
import { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { startBenchServer } from './local-server.js';
import { descendantsOf, memoryByCgroup } from './proc-memory.js';

const server = await startBenchServer(0);
const ex = new HopXCodeExecutor({ baseURL: server.baseURL, apiKey: server.apiKey });
await ex.executeCodeBlocks([{ language: 'python', code: 'print(1)' }]);
for (const pid of descendantsOf(process.pid)) {
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120);
  } catch {}
  let cg = '';
  try {
    cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .filter((l) => /memory|pids|^0::/.test(l))
      .join(' ; ');
  } catch {}
  console.log(pid, cmd, '\n   ', cg);
}
console.log(memoryByCgroup(process.pid));
await ex.close();
await server.close();
console.log('left', descendantsOf(process.pid));
