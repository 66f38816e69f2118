import { defineTool } from '@hopgen/agents';
import type { HopXCodeExecutor } from '@hopgen/executors-hopx';
import { z } from 'zod';

/** Example 4's `installPackage` tool: pip in the sandbox, whose failure becomes a sentence the model reads. */
export function installPackageTool(executor: HopXCodeExecutor) {
  return defineTool({
    name: 'installPackage',
    description: 'Installs a pip package in the sandbox; needs network access from the sandbox.',
    // The name reaches a shell, so only what a package name can be is let through.
    parameters: z.object({ packageName: z.string().regex(/^[A-Za-z0-9][\w.-]*$/) }),
    async execute({ packageName }) {
      const code = `python3 -m pip install -qqq --retries 0 --timeout 5 ${packageName}`;
      const result = await executor.executeCodeBlocks([{ code, language: 'bash' }]);
      if (result.exitCode === 0) return `Installed ${packageName}.`;
      throw new Error(
        `could not install ${packageName}: the sandbox has no network access; use what is installed`,
      );
    },
  });
}
