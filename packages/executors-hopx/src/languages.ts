import { InvalidExecutorOptionError } from './errors.js';
import { transpileTypeScript } from './typescript-transpiler.js';

/** What a block's source became before it is sent: the code to run, or an error for the model. */
export type PreparedSource = { ok: true; code: string } | { ok: false; error: string };

/** How the sandbox runs one language. */
export interface LanguageRunner {
  /** Extension of the script file written in the sandbox, with its dot (`.py`). */
  fileExtension: string;
  /**
   * Shell command that runs the script in the sandbox; `{file}` becomes the script's quoted path.
   * It runs under `timeout`, in the sandbox's working directory.
   */
  command: string;
  /**
   * `'python'` lets a stateful executor run the block in the sandbox's persistent Python
   * interpreter (`runIpython`) instead of a fresh process.
   * @default undefined (always a fresh process)
   */
  persistentInterpreter?: 'python';
  /** Rewrites the source before it is sent (TypeScript is transpiled here). @default undefined */
  prepare?: (code: string) => Promise<PreparedSource>;
  /**
   * The language the sandbox's template must have for this runtime, as its agent lists them
   * (`GET /health` `features.languages`). Where the template lacks it, a block answers
   * `unknown language <tag>` without running. Templates that list no languages are trusted.
   * @default undefined (offered everywhere)
   */
  templateLanguage?: string;
}

/** A language mapping entry: a runtime, or the name of another entry it is an alias of. */
export type LanguageMappingEntry = LanguageRunner | string;

const python: LanguageRunner = {
  fileExtension: '.py',
  // -u: unbuffered, so output printed before a timeout is not lost in a pipe buffer.
  command: 'python3 -u {file}',
  persistentInterpreter: 'python',
};
const bash: LanguageRunner = { fileExtension: '.sh', command: 'bash {file}' };
const javascript: LanguageRunner = {
  fileExtension: '.js',
  command: 'node {file}',
  templateLanguage: 'javascript',
};
const typescript: LanguageRunner = {
  fileExtension: '.js',
  command: 'node {file}',
  templateLanguage: 'javascript',
  prepare: async (code) => {
    const result = await transpileTypeScript(code);
    return result.ok ? { ok: true, code: result.javascript } : result;
  },
};
const go: LanguageRunner = { fileExtension: '.go', command: 'go run {file}', templateLanguage: 'go' };

/** The languages every executor knows, by fence tag (lower case). */
export const defaultLanguages: Readonly<Record<string, LanguageMappingEntry>> = Object.freeze({
  python,
  py: 'python',
  python3: 'python',
  bash,
  sh: 'bash',
  shell: 'bash',
  javascript,
  js: 'javascript',
  node: 'javascript',
  typescript,
  ts: 'typescript',
  go,
});

/** Resolves fence tags to runtimes, following aliases. */
export class LanguageTable {
  readonly #entries: Map<string, LanguageMappingEntry>;

  /** `overrides` extend the defaults; an entry with the same name replaces the default. */
  constructor(overrides: Record<string, LanguageMappingEntry> = {}) {
    this.#entries = new Map();
    for (const [name, entry] of Object.entries({ ...defaultLanguages, ...overrides })) {
      this.#entries.set(name.toLowerCase(), typeof entry === 'string' ? entry.toLowerCase() : entry);
    }
    for (const name of this.#entries.keys()) this.#resolveOrThrow(name);
  }

  /** The runtime for a fence tag, or undefined for a language nobody configured. */
  resolve(language: string): LanguageRunner | undefined {
    let name = language.trim().toLowerCase();
    for (let hops = 0; hops <= this.#entries.size; hops += 1) {
      const entry = this.#entries.get(name);
      if (entry === undefined) return undefined;
      if (typeof entry !== 'string') return entry;
      name = entry;
    }
    return undefined;
  }

  #resolveOrThrow(name: string): void {
    if (this.resolve(name) === undefined) {
      throw new InvalidExecutorOptionError(
        `languages.${name} is an alias that never reaches a runtime (unknown target or alias loop). ` +
          'Point it at a language that has { fileExtension, command }.',
      );
    }
  }
}
