import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import type { ModelConfig } from '../llm-config.js';

/** Criteria of {@link filterConfig}: per config field, the accepted value or values. */
export type FilterDict = Record<string, unknown>;

/** Options of {@link configListFromJson}. */
export interface ConfigListFromJsonOptions {
  /** Directory of the file when `envOrFile` names a file rather than a variable. @default '' (working directory) */
  fileLocation?: string;
  /** Keeps only the configs matching these criteria (see {@link filterConfig}). */
  filterDict?: FilterDict;
}

/**
 * Loads a config list the way AutoGen's `config_list_from_json` does: when the environment variable
 * `envOrFile` is set, its value is read as a file path if such a file exists, else parsed as JSON; otherwise
 * `envOrFile` is a file name under `fileLocation`. AutoGen's snake_case keys `api_key` and `base_url` become
 * `apiKey` and `baseURL`. Deviation: a missing file throws `InvalidOptionError` instead of returning `[]`.
 */
export async function configListFromJson(
  envOrFile = 'OAI_CONFIG_LIST',
  options: ConfigListFromJsonOptions = {},
): Promise<ModelConfig[]> {
  const fromEnvironment = process.env[envOrFile];
  let text: string;
  let source: string;
  if (fromEnvironment) {
    if (await exists(fromEnvironment)) {
      text = await readFile(fromEnvironment, 'utf8');
      source = `file ${fromEnvironment} (from $${envOrFile})`;
    } else {
      text = fromEnvironment;
      source = `environment variable ${envOrFile}`;
    }
  } else {
    const path = join(options.fileLocation ?? '', envOrFile);
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new InvalidOptionError(
        `No config list: the environment variable ${envOrFile} is not set and the file ${path} cannot be read (${(error as Error).message}). Set ${envOrFile} to a JSON list or a file path, or create the file.`,
        { cause: error },
      );
    }
    source = `file ${path}`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidOptionError(
      `The config list in ${source} is not valid JSON (${(error as Error).message}). Give a JSON list like [{"model": "gpt-4o-mini"}].`,
      { cause: error },
    );
  }
  if (!Array.isArray(parsed) || parsed.some((entry) => typeof entry !== 'object' || entry === null)) {
    throw new InvalidOptionError(
      `The config list in ${source} must be a JSON list of objects, like [{"model": "gpt-4o-mini"}].`,
    );
  }
  return filterConfig(parsed.map(normalizeConfigKeys), options.filterDict);
}

/** A config with AutoGen's `api_key`/`base_url` renamed to hopgen's `apiKey`/`baseURL`. */
export function normalizeConfigKeys(entry: Record<string, unknown>): ModelConfig {
  const { api_key, base_url, ...rest } = entry;
  const config = { ...rest } as ModelConfig;
  if (config.apiKey === undefined && typeof api_key === 'string') config.apiKey = api_key;
  if (config.baseURL === undefined && typeof base_url === 'string') config.baseURL = base_url;
  return config;
}

/**
 * Keeps the configs that satisfy every key of `filterDict` (AutoGen's `filter_config`); with `exclude`,
 * drops them instead (inverted per key, as AutoGen does). A config without the key never satisfies it.
 * A list-valued config field (e.g. `tags`) satisfies a list of criteria when they share a value.
 * A scalar field satisfies a list when the list contains it. A string criterion follows Python's `in`:
 * the field's value must be a substring of it (`{ model: 'gpt-4o-mini' }` also accepts `gpt-4o`).
 * Deliberate deviation: against a list-valued field a string criterion means that one value (Python would
 * compare characters). An empty or missing `filterDict` returns `configList` itself.
 */
export function filterConfig<T extends Record<string, unknown>>(
  configList: T[],
  filterDict: FilterDict | null | undefined,
  options: { exclude?: boolean } = {},
): T[] {
  if (!filterDict || Object.keys(filterDict).length === 0) return configList;
  const exclude = options.exclude ?? false;
  return configList.filter((config) =>
    Object.entries(filterDict).every(
      ([key, criteria]) => satisfiesCriteria(config[key], criteria) !== exclude,
    ),
  );
}

function satisfiesCriteria(value: unknown, criteria: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) {
    const accepted = Array.isArray(criteria) ? criteria : [criteria];
    return value.some((item) => accepted.includes(item));
  }
  if (Array.isArray(criteria)) return criteria.includes(value);
  if (typeof criteria === 'string') return typeof value === 'string' && criteria.includes(value);
  return value === criteria;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
