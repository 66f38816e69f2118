// AutoGen's `silence_pip` (autogen/coding/utils.py, 0.2.40): pip's progress bars and "Requirement
// already satisfied" lines would fill the model's context, so executors add `-qqq` to `pip install`
// lines before running a block. Same languages, same patterns (only lines that start with it).
const PIP_INSTALL_BY_LANGUAGE: Readonly<Record<string, RegExp>> = {
  python: /^! ?pip install/,
  bash: /^pip install/,
  shell: /^pip install/,
  sh: /^pip install/,
  pwsh: /^pip install/,
  powershell: /^pip install/,
  ps1: /^pip install/,
};

/** Adds `-qqq` to every line of `code` that starts with `pip install`, as AutoGen does before running it. */
export function silencePip(code: string, language: string): string {
  const pattern = PIP_INSTALL_BY_LANGUAGE[language];
  if (pattern === undefined) return code;
  return code
    .split('\n')
    .map((line) => {
      const match = pattern.exec(line);
      return match === null || line.includes('-qqq') ? line : line.replace(match[0], `${match[0]} -qqq`);
    })
    .join('\n');
}
