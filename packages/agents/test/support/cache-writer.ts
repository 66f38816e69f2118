// Child process of response-cache.test.ts: writes one cache key many times, as a second process sharing
// the cache directory would.
import { DiskResponseCache } from '../../src/model-clients/response-cache.js';

const [root, key, label, countText] = process.argv.slice(2);
const cache = new DiskResponseCache({ seed: 'processes', root: root! });
const filler = 'z'.repeat(300_000);
for (let index = 0; index < Number(countText); index++) {
  await cache.set(key!, {
    message: { role: 'assistant', content: `${label}-${index}-${filler}` },
    model: 'm',
    usage: { promptTokens: index, completionTokens: 0, totalTokens: index, cost: null },
  });
}
