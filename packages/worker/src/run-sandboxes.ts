import type { JsonValue, RunStore } from '@hopgen/agents';
import { Sandbox } from '@hopx-ai/sdk';

/** Where the sandboxes of the workers' pipelines live (HopX cloud or a local sandbox server). */
export interface SandboxServiceOptions {
  /** HopX control-plane URL. @default process.env.HOPX_BASE_URL, else 'https://api.hopx.dev' */
  baseURL?: string;
  /** HopX API key. @default process.env.HOPX_API_KEY */
  apiKey?: string;
}

/** Ids of the sandboxes a run's code blocks ran in, as the durable log recorded them (`executorState`). */
export function sandboxIdsOf(entries: readonly { data: { [key: string]: JsonValue } }[]): string[] {
  const ids = new Set<string>();
  const visit = (value: JsonValue | undefined): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (value !== null && typeof value === 'object') {
      const state = value.executorState;
      if (
        state !== null &&
        typeof state === 'object' &&
        !Array.isArray(state) &&
        typeof state.sandboxId === 'string'
      ) {
        ids.add(state.sandboxId);
      }
      for (const item of Object.values(value)) visit(item);
    }
  };
  for (const entry of entries) visit(entry.data);
  return [...ids];
}

/**
 * Kills the sandboxes run `runId` used, once its job is over (finished, cancelled or dead): the run
 * keeps its sandbox across resumes, so nothing else would free it before its TTL. A sandbox already
 * gone is fine. Returns the ids it stopped.
 */
export async function stopRunSandboxes(
  store: RunStore,
  runId: string,
  service: SandboxServiceOptions,
): Promise<string[]> {
  const entries = await store.readEntries(runId, 0).catch(() => []);
  const ids = sandboxIdsOf(entries);
  const apiKey = service.apiKey ?? process.env.HOPX_API_KEY;
  const baseURL = service.baseURL ?? process.env.HOPX_BASE_URL;
  const stopped: string[] = [];
  for (const id of ids) {
    try {
      const sandbox = await Sandbox.connect(id, apiKey, baseURL);
      await sandbox.kill();
      stopped.push(id);
    } catch {
      // Gone already (its TTL, or an earlier stop): nothing left to free.
    }
  }
  return stopped;
}
