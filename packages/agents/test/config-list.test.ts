import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configListFromJson, filterConfig, InvalidOptionError, type ModelConfig } from '@hopgen/agents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let directory: string;
const variable = 'HOPGEN_TEST_CONFIG_LIST';

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hopgen-config-'));
  delete process.env[variable];
});

afterEach(async () => {
  delete process.env[variable];
  await rm(directory, { recursive: true, force: true });
});

const list = [
  { model: 'gpt-4o', api_key: 'sk-a', tags: ['gpt4', 'openai'] },
  { model: 'gpt-4o-mini', api_key: 'sk-b', tags: ['cheap', 'openai'] },
  { model: 'llama3.2', base_url: 'http://127.0.0.1:11434/v1', tags: ['local'] },
];

describe('configListFromJson', () => {
  it('reads JSON from the environment variable and renames api_key and base_url', async () => {
    process.env[variable] = JSON.stringify(list);
    const configs = await configListFromJson(variable);
    expect(configs).toEqual([
      { model: 'gpt-4o', apiKey: 'sk-a', tags: ['gpt4', 'openai'] },
      { model: 'gpt-4o-mini', apiKey: 'sk-b', tags: ['cheap', 'openai'] },
      { model: 'llama3.2', baseURL: 'http://127.0.0.1:11434/v1', tags: ['local'] },
    ]);
  });

  it('reads the file the environment variable names', async () => {
    const path = join(directory, 'configs.json');
    await writeFile(path, JSON.stringify(list));
    process.env[variable] = path;
    expect((await configListFromJson(variable)).map((config) => config.model)).toEqual([
      'gpt-4o',
      'gpt-4o-mini',
      'llama3.2',
    ]);
  });

  it('reads a file named like the variable under fileLocation and filters it', async () => {
    await writeFile(join(directory, variable), JSON.stringify(list));
    const configs = await configListFromJson(variable, {
      fileLocation: directory,
      filterDict: { tags: ['local'] },
    });
    expect(configs).toEqual([{ model: 'llama3.2', baseURL: 'http://127.0.0.1:11434/v1', tags: ['local'] }]);
  });

  it('names the variable, the file and the fix when there is no config list', async () => {
    const error = await configListFromJson(variable, { fileLocation: directory }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toContain(`environment variable ${variable} is not set`);
    expect((error as Error).message).toContain(join(directory, variable));
  });

  it('rejects text that is not a JSON list of objects', async () => {
    process.env[variable] = '[{"model": "gpt-4o",}]';
    await expect(configListFromJson(variable)).rejects.toThrow(/not valid JSON/);
    process.env[variable] = '{"model": "gpt-4o"}';
    await expect(configListFromJson(variable)).rejects.toThrow(/JSON list of objects/);
  });
});

describe('filterConfig', () => {
  const configs: ModelConfig[] = [
    { model: 'gpt-4o', tags: ['gpt4', 'openai'] },
    { model: 'gpt-4o-mini', tags: ['cheap', 'openai'] },
    { model: 'llama3.2', tags: ['local'], apiType: 'ollama' },
    { model: 'gpt-4' },
  ];

  it('keeps configs whose list field shares a value with the criteria', () => {
    expect(filterConfig(configs, { tags: ['gpt4', 'local'] }).map((config) => config.model)).toEqual([
      'gpt-4o',
      'llama3.2',
    ]);
  });

  it('keeps configs whose scalar field is in the criteria list, and needs every key', () => {
    expect(filterConfig(configs, { model: ['gpt-4o-mini', 'gpt-4'] }).map((config) => config.model)).toEqual([
      'gpt-4o-mini',
      'gpt-4',
    ]);
    expect(
      filterConfig(configs, { model: ['gpt-4o-mini', 'gpt-4'], tags: ['openai'] }).map((c) => c.model),
    ).toEqual(['gpt-4o-mini']);
  });

  it("follows Python's `in` for a string criterion: the value must be a substring of it", () => {
    expect(filterConfig(configs, { model: 'gpt-4o-mini' }).map((config) => config.model)).toEqual([
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-4',
    ]);
    // Deliberate deviation: against a list field a string criterion is one value, not a set of characters.
    expect(filterConfig(configs, { tags: 'local' }).map((config) => config.model)).toEqual(['llama3.2']);
  });

  it('never matches a config without the key, and inverts each key with exclude', () => {
    expect(filterConfig(configs, { apiType: ['ollama'] }).map((config) => config.model)).toEqual([
      'llama3.2',
    ]);
    expect(
      filterConfig(configs, { tags: ['openai'] }, { exclude: true }).map((config) => config.model),
    ).toEqual(['llama3.2', 'gpt-4']);
  });

  it('returns the same list for an empty or missing filter', () => {
    expect(filterConfig(configs, {})).toBe(configs);
    expect(filterConfig(configs, undefined)).toBe(configs);
  });
});
