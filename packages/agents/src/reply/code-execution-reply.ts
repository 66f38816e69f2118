import { resolveImageSettings } from '../code-execution/code-execution-config.js';
import { imagePartsFor } from '../code-execution/image-parts.js';
import type { CodeOutputChunk, CodeResult } from '../code-execution/types.js';
import { CodeOutputLog } from '../durable/code-output-log.js';
import type { JsonValue } from '../durable/run-store.js';
import { CodeExecutionError, DangerousCommandError } from '../errors.js';
import type { ContentPart, Message } from '../message.js';
import { traceCodeExecution } from '../telemetry/spans.js';
import type { ReplyContext, ReplyResult } from './reply-types.js';

/**
 * What the model reads when a resumed run finds a code block that started but never reported back
 * (the process died while it ran). The block is not run again: it may have done part of its work.
 */
export const INTERRUPTED_CODE_OUTPUT =
  'The code was interrupted: the process running this conversation stopped while the code was running, so it may have partly run. It was not run again. Check what it already did before running it again.';

/** How many trailing messages `'auto'` scans: those received since the agent last spoke (role `user`). */
export function autoLastNMessages(messages: readonly Message[]): number {
  let count = 0;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    if (messages[index]?.role !== 'user') break;
    count += 1;
  }
  return count;
}

/**
 * The code-execution step of the reply pipeline: scans the last messages newest first, runs the
 * code blocks of the first message that has any, and answers AutoGen's
 * `exitcode: N (execution succeeded|failed)\nCode output: ...`. With `imagesToModel`, the PNGs the
 * blocks produced follow that text as image parts.
 */
export async function generateCodeExecutionReply({
  agent,
  messages,
  signal,
  run,
}: ReplyContext): Promise<ReplyResult> {
  const config = agent.codeExecutionConfig;
  if (config === false) return { final: false };
  const { executor } = config;
  const lastN = config.lastNMessages ?? 'auto';
  const scan = lastN === 'auto' ? autoLastNMessages(messages) : lastN;
  for (let index = messages.length - 1; index >= Math.max(0, messages.length - scan); index -= 1) {
    const message = messages[index];
    if (!message?.content) continue;
    const codeBlocks = executor.codeExtractor.extractCodeBlocks(message.content);
    if (codeBlocks.length === 0) continue;
    if (agent.silent !== true) {
      const languages = codeBlocks.map((block) => block.language);
      agent.renderer.notice(
        codeBlocks.length === 1
          ? `\n>>>>>>>> EXECUTING CODE BLOCK (inferred language is ${languages[0]})...`
          : `\n>>>>>>>> EXECUTING ${codeBlocks.length} CODE BLOCKS (inferred languages are [${languages.join(', ')}])...`,
        'code',
      );
    }
    const decision = await run.approve('code-execution', agent, {
      codeBlocks: codeBlocks as unknown as JsonValue,
    });
    if (!decision.approved) {
      return { final: true, reply: `exitcode: 1 (execution failed)\nCode output: ${decision.reason ?? ''}` };
    }
    agent.emit('code-execution-start', { agent, codeBlocks });
    const started = performance.now();
    const imagesToModel = config.imagesToModel === true;
    const result = (await run.step(
      'code-execution',
      { agent: agent.name, codeBlocks: codeBlocks as unknown as JsonValue },
      async (stepId, attemptKey) => {
        // A resumed run first re-attaches the executor to the state (a sandbox) the last block left.
        const saved = run.journal?.takeExecutorState(agent.name);
        try {
          if (saved !== undefined && executor.restoreDurableState) await executor.restoreDurableState(saved);
        } catch (error) {
          throw notRun(error);
        }
        const outputLog = run.journal
          ? new CodeOutputLog(run.journal, { agent: agent.name, stepId, attemptKey })
          : undefined;
        const onOutput = (chunk: CodeOutputChunk) => {
          agent.emit('code-output', { agent, stepId, ...chunk });
          outputLog?.add(chunk);
        };
        let ran: CodeResult;
        try {
          ran = await traceCodeExecution(executor, codeBlocks, () =>
            executor.executeCodeBlocks(codeBlocks, {
              ...(signal ? { signal } : {}),
              ...(imagesToModel ? { collectImageFiles: true } : {}),
              onOutput,
            }),
          );
        } finally {
          await outputLog?.close();
        }
        const executorState = executor.durableState?.();
        return { ...ran, ...(executorState === undefined ? {} : { executorState }) } as unknown as JsonValue;
      },
      () => ({ exitCode: 1, output: INTERRUPTED_CODE_OUTPUT }),
      // A refused command is refused before anything runs, as is an executor without a sandbox.
      (error) =>
        (error instanceof CodeExecutionError && error.nothingRan) || error instanceof DangerousCommandError,
    )) as unknown as CodeResult & { executorState?: unknown };
    if (result.executorState !== undefined) run.journal?.keepExecutorState(agent.name, result.executorState);
    agent.emit('code-execution-end', { agent, codeBlocks, result, durationMs: performance.now() - started });
    const outcome = result.exitCode === 0 ? 'execution succeeded' : 'execution failed';
    const text = `exitcode: ${result.exitCode} (${outcome})\nCode output: ${result.output}`;
    if (!imagesToModel || !result.outputFiles || result.outputFiles.length === 0) {
      return { final: true, reply: text };
    }
    const images = await imagePartsFor(result.outputFiles, resolveImageSettings(config));
    if (images.parts.length === 0 && images.notes.length === 0) return { final: true, reply: text };
    const content: ContentPart[] = [{ type: 'text', text }];
    if (images.notes.length > 0) content.push({ type: 'text', text: `\n[${images.notes.join('; ')}]` });
    content.push(...images.parts);
    return { final: true, reply: { content } };
  }
  return { final: false };
}

/** An error from before the executor was asked to run anything, marked so a resumed run tries again. */
function notRun(error: unknown): CodeExecutionError {
  if (error instanceof CodeExecutionError) {
    error.nothingRan = true;
    return error;
  }
  return new CodeExecutionError(
    `Could not re-attach the code executor to the run's earlier state: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error, nothingRan: true },
  );
}
