import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { HopXCodeExecutor } from '@hopgen/executors-hopx';
import type { TranscriptRecorder } from './transcript.js';

/** PNG files the conversation's code saved with `savefig('name.png')`, in order of appearance. */
export function savedChartNames(messages: readonly { message: { content?: unknown } }[]): string[] {
  const names = new Set<string>();
  for (const { message } of messages) {
    if (typeof message.content !== 'string') continue;
    for (const match of message.content.matchAll(/savefig\(\s*(?:f?["'])([^"'{}]+\.png)["']/g))
      names.add(match[1]!);
  }
  return [...names];
}

/**
 * Downloads each named file from the sandbox into the run directory (as its base name). It becomes
 * a chart of the report when the code displayed none (the same picture would show twice otherwise).
 * Returns the names downloaded; files the sandbox does not have are skipped.
 */
export async function downloadCharts(
  executor: HopXCodeExecutor,
  names: readonly string[],
  runDirectory: string,
  recorder: TranscriptRecorder,
): Promise<string[]> {
  const downloaded: string[] = [];
  const asCharts = recorder.charts.length === 0;
  for (const name of names) {
    try {
      const bytes = await executor.downloadFile(name);
      const local = basename(name);
      await writeFile(join(runDirectory, local), bytes);
      if (asCharts) recorder.addChart(local);
      else recorder.addFile(local);
      downloaded.push(local);
    } catch {
      // The code may have failed before saving it; the report shows what exists.
    }
  }
  return downloaded;
}

/** True when `bytes` start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return signature.every((byte, index) => bytes[index] === byte);
}
