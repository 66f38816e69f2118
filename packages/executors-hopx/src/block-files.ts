import { createHash } from 'node:crypto';
import { fileNameFromCode } from '@hopgen/agents/internal';

/** Printed, with exit code 1, for a `# filename:` that resolves outside the sandbox's working directory (AutoGen's text). */
export const FILENAME_OUTSIDE_WORKSPACE = 'Filename is not in the workspace';

/** Where a block's source goes in the sandbox. */
export interface BlockFiles {
  /**
   * The name from the block's first-line comment (`# filename: hello.py`): the block is saved there,
   * relative to the sandbox's working directory, before it runs, and stays for later blocks.
   */
  saveAs: string | undefined;
  /**
   * The name tracebacks show for a block without one, AutoGen's `tmp_code_<md5 of the code>.<ext>`.
   * No such file is left in the working directory: the block runs from a private temporary directory.
   */
  scratchName: string;
}

/** The file names of one block, from its first-line comment and the md5 of its code. */
export function blockFiles(code: string, fileExtension: string): BlockFiles {
  const hash = createHash('md5').update(code).digest('hex');
  return { saveAs: fileNameFromCode(code), scratchName: `tmp_code_${hash}${fileExtension}` };
}
