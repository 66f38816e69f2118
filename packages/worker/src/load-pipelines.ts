import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pipeline } from '@hopgen/agents';
import { InvalidWorkerOptionError } from './errors.js';

/**
 * The pipelines a module exports: `export const pipelines = [...]` or a default array, as for
 * `hopgen serve`. A TypeScript module is loaded through tsx when Node cannot load it itself.
 */
export async function loadPipelines(path: string): Promise<Pipeline<any, any>[]> {
  const url = pathToFileURL(resolve(path)).href;
  let module: { pipelines?: unknown; default?: unknown };
  try {
    module = await import(url);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    let tsImport: (specifier: string, parent: string) => Promise<unknown>;
    try {
      ({ tsImport } = (await import('tsx/esm/api' as string)) as { tsImport: typeof tsImport });
    } catch {
      throw new InvalidWorkerOptionError(
        `${path} is TypeScript and tsx is not installed. Install it (npm install tsx) or compile the module to JavaScript.`,
      );
    }
    module = (await tsImport(url, import.meta.url)) as typeof module;
  }
  const pipelines = module.pipelines ?? module.default;
  if (
    !Array.isArray(pipelines) ||
    pipelines.length === 0 ||
    pipelines.some((pipeline) => typeof pipeline?.name !== 'string' || typeof pipeline?.build !== 'function')
  ) {
    throw new InvalidWorkerOptionError(
      `${path} exports no pipelines: add \`export const pipelines = [definePipeline({ name, build })]\`.`,
    );
  }
  return pipelines as Pipeline<any, any>[];
}
