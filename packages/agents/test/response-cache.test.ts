import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiskResponseCache, InMemoryResponseCache, type LlmConfig, OpenAIChatClient } from '@hopgen/agents';
import { cacheKey } from '@hopgen/agents/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenAITestServer, type Script, startOpenAITestServer } from './support/openai-test-server.js';

const servers: OpenAITestServer[] = [];
let root: string;

async function serve(script: Script): Promise<OpenAITestServer> {
  const server = await startOpenAITestServer(script);
  servers.push(server);
  return server;
}

const answer = { content: 'Paris', usage: { prompt_tokens: 10, completion_tokens: 2 } } as const;
const question = [{ role: 'user' as const, content: 'Capital of France?' }];

function diskClient(server: OpenAITestServer, extra: Partial<LlmConfig> = {}): OpenAIChatClient {
  return new OpenAIChatClient({
    configList: [{ model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'sk-cache-secret' }],
    cacheSeed: 7,
    cachePathRoot: root,
    ...extra,
  });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hopgen-cache-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(root, { recursive: true, force: true });
});

describe('disk response cache', () => {
  it('answers a repeated request from .cache/<seed>/ without a second request', async () => {
    const server = await serve(() => answer);
    const chat = diskClient(server);
    const first = await chat.create({ messages: question });
    const second = await chat.create({ messages: question });
    expect(server.requests).toHaveLength(1);
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(true);
    expect(second.attempts).toBe(0);
    expect(second.message).toEqual(first.message);
    const files = await readdir(join(root, '7'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.json$/);
    const stored = await readFile(join(root, '7', files[0]!), 'utf8');
    expect(stored).not.toContain('sk-cache-secret');
    expect(stored).not.toContain(server.baseURL);

    // Cache hits count only in the including-cached usage.
    const usage = chat.usage();
    expect(usage.usageIncludingCachedInference.models['gpt-4o-mini']).toMatchObject({
      promptTokens: 20,
      totalTokens: 24,
    });
    expect(usage.usageExcludingCachedInference.models['gpt-4o-mini']).toMatchObject({
      promptTokens: 10,
      totalTokens: 12,
    });
    expect(usage.usageIncludingCachedInference.totalCost).toBeCloseTo(
      2 * usage.usageExcludingCachedInference.totalCost!,
      15,
    );
  });

  it('is shared by clients with other keys and endpoints, but not across seeds or prompts', async () => {
    const first = await serve(() => answer);
    const second = await serve(() => ({ content: 'fresh' }));
    await diskClient(first).create({ messages: question });
    const other = new OpenAIChatClient({
      configList: [{ model: 'gpt-4o-mini', baseURL: second.baseURL, apiKey: 'sk-another-key' }],
      cacheSeed: 7,
      cachePathRoot: root,
    });
    expect((await other.create({ messages: question })).message.content).toBe('Paris');
    expect(second.requests).toHaveLength(0);

    const otherSeed = diskClient(second, { cacheSeed: 8 });
    expect((await otherSeed.create({ messages: question })).cached).toBe(false);
    expect((await other.create({ messages: [{ role: 'user', content: 'Capital of Spain?' }] })).cached).toBe(
      false,
    );
    expect(second.requests).toHaveLength(2);
  });

  it('is off with cacheSeed null', async () => {
    const server = await serve(() => answer);
    const chat = diskClient(server, { cacheSeed: null });
    await chat.create({ messages: question });
    expect((await chat.create({ messages: question })).cached).toBe(false);
    expect(server.requests).toHaveLength(2);
    expect(existsSync(join(root, '7'))).toBe(false);
  });

  it('ignores a corrupt entry, asks the model and rewrites it', async () => {
    const server = await serve(() => answer);
    const chat = diskClient(server);
    await chat.create({ messages: question });
    const [file] = await readdir(join(root, '7'));
    const path = join(root, '7', file!);
    await writeFile(path, '{"key": "truncated', 'utf8');
    const afterCorruption = await chat.create({ messages: question });
    expect(afterCorruption.cached).toBe(false);
    expect(server.requests).toHaveLength(2);
    expect(JSON.parse(await readFile(path, 'utf8')).response.message.content).toBe('Paris');
    expect((await chat.create({ messages: question })).cached).toBe(true);

    // Valid JSON of the wrong shape is a miss too.
    await writeFile(path, JSON.stringify({ key: 'x', response: { hello: 1 } }), 'utf8');
    expect((await chat.create({ messages: question })).cached).toBe(false);
  });

  it('ends with a whole entry and no temporary files after concurrent writes from two instances', async () => {
    const a = new DiskResponseCache({ seed: 'shared', root });
    const b = new DiskResponseCache({ seed: 'shared', root });
    const key = cacheKey({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    const big = 'y'.repeat(200_000);
    const value = (n: number) => ({
      message: { role: 'assistant' as const, content: `${n}${big}` },
      model: 'm',
      usage: { promptTokens: n, completionTokens: 0, totalTokens: n, cost: null },
    });
    const path = a.pathFor(key);
    let readsParsed = 0;
    const reader = (async () => {
      for (let i = 0; i < 60; i++) {
        const text = await readFile(path, 'utf8').catch(() => undefined);
        if (text !== undefined) {
          JSON.parse(text);
          readsParsed++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all([
      ...Array.from({ length: 20 }, (_, n) => a.set(key, value(n))),
      ...Array.from({ length: 20 }, (_, n) => b.set(key, value(100 + n))),
      reader,
    ]);
    expect(readsParsed).toBeGreaterThan(0);
    const final = await b.get(key);
    expect(final?.message.content).toMatch(/^\d+y+$/);
    expect((await readdir(join(root, 'shared'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('disk response cache shared by processes', () => {
  it('stays readable while two processes write the same entry', async () => {
    const key = cacheKey({ model: 'm', messages: [{ role: 'user', content: 'shared' }] });
    const cache = new DiskResponseCache({ seed: 'processes', root });
    const writer = fileURLToPath(new URL('./support/cache-writer.ts', import.meta.url));
    const run = (label: string) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', writer, root, key, label, '40'], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        child.on('error', reject);
        child.on('exit', resolve);
      });
    const writers = Promise.all([run('a'), run('b')]);
    let finished = false;
    void writers.finally(() => {
      finished = true;
    });
    let reads = 0;
    while (!finished) {
      const text = await readFile(cache.pathFor(key), 'utf8').catch(() => undefined);
      if (text !== undefined) {
        // Every read sees a whole entry, never a mix or a truncated file.
        const entry = JSON.parse(text);
        expect(entry.response.message.content).toMatch(/^[ab]-\d+-z{300000}$/);
        reads++;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(await writers).toEqual([0, 0]);
    expect(reads).toBeGreaterThan(0);
    expect((await cache.get(key))?.message.content).toMatch(/^[ab]-39-/);
    expect((await readdir(join(root, 'processes'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('in-memory response cache', () => {
  it('is used instead of the disk cache and can be shared by clients', async () => {
    const server = await serve(() => answer);
    const cache = new InMemoryResponseCache();
    const one = diskClient(server, { cache });
    const two = diskClient(server, { cache });
    await one.create({ messages: question });
    const hit = await two.create({ messages: question });
    expect(hit.cached).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(cache.size).toBe(1);
    expect(existsSync(join(root, '7'))).toBe(false);
    expect(two.usage().usageExcludingCachedInference.models).toEqual({});
    expect(two.usage().usageIncludingCachedInference.models['gpt-4o-mini']?.totalTokens).toBe(12);
  });

  it('replays a cached answer as one text delta when streaming', async () => {
    const server = await serve(() => ({ content: ['Par', 'is'] }));
    const cache = new InMemoryResponseCache();
    const chat = diskClient(server, { cache, stream: true });
    await chat.create({ messages: question });
    const deltas: string[] = [];
    const hit = await chat.create({ messages: question, onTextDelta: (delta) => deltas.push(delta) });
    expect(hit.cached).toBe(true);
    expect(deltas).toEqual(['Paris']);
  });

  it('does not keep an answer with neither text nor tool calls', async () => {
    const server = await serve(() => ({ noChoices: true }));
    const cache = new InMemoryResponseCache();
    const chat = diskClient(server, { cache });
    await chat.create({ messages: question });
    await chat.create({ messages: question });
    expect(server.requests).toHaveLength(2);
    expect(cache.size).toBe(0);
  });
});

describe('custom response caches', () => {
  it('treats a cache that fails or returns garbage as a miss', async () => {
    const server = await serve(() => answer);
    let writes = 0;
    const failing = {
      get: async () => {
        throw new Error('cache backend down');
      },
      set: async () => {
        writes++;
        throw new Error('cache backend down');
      },
    };
    const garbage = { get: async () => ({ message: 'not a message' }) as never, set: async () => undefined };
    expect(
      (await diskClient(server, { cache: failing }).create({ messages: question })).message.content,
    ).toBe('Paris');
    expect(writes).toBe(1);
    expect((await diskClient(server, { cache: garbage }).create({ messages: question })).cached).toBe(false);
    expect(server.requests).toHaveLength(2);
  });
});

describe('cacheKey', () => {
  it('leaves out secrets and endpoints and does not depend on key order', () => {
    const key = cacheKey({
      model: 'm',
      messages: [{ content: 'x', role: 'user' }],
      apiKey: 'sk-1',
      baseURL: 'http://a',
    });
    expect(key).toBe(
      cacheKey({ baseURL: 'http://b', messages: [{ role: 'user', content: 'x' }], model: 'm' }),
    );
    expect(key).not.toContain('sk-1');
    expect(key).not.toBe(cacheKey({ model: 'm', messages: [{ role: 'user', content: 'y' }] }));
  });
});
