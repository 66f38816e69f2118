import { TypeScriptUnavailableError } from './errors.js';

/** What transpiling one TypeScript block gave: JavaScript, or an error the model can act on. */
export type TranspileResult = { ok: true; javascript: string } | { ok: false; error: string };

type TypeScriptModule = typeof import('typescript');
let typescriptModule: Promise<TypeScriptModule> | undefined;

// The compiler is large (about 300 ms to load, 23 MB installed), so it is an optional peer
// dependency (5 or 6; 7 has no JavaScript API): only projects that run TypeScript blocks install it, and only sessions that do load it.
function loadTypeScript(): Promise<TypeScriptModule> {
  typescriptModule ??= import('typescript').then(
    (module) => {
      const ts = (module as unknown as { default?: TypeScriptModule }).default ?? module;
      if (typeof ts.transpileModule === 'function') return ts;
      typescriptModule = undefined;
      throw new TypeScriptUnavailableError(
        `The installed typescript ${String(ts.version)} has no transpileModule function.`,
      );
    },
    (error: unknown) => {
      typescriptModule = undefined;
      if (isMissingTypeScript(error))
        throw new TypeScriptUnavailableError('The `typescript` package is not installed.', error);
      throw error;
    },
  );
  return typescriptModule;
}

function isMissingTypeScript(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    String((error as Error).message).includes("'typescript'")
  );
}

/**
 * Transpiles a TypeScript block to CommonJS JavaScript for Node with `ts.transpileModule` (no type
 * checking, like `tsx`). Syntax errors come back as `TypeScript syntax error at line L, column C: ...`
 * so the model can fix the exact spot. Throws `TypeScriptUnavailableError` when the optional
 * `typescript` package (5 or 6) is not installed.
 */
export async function transpileTypeScript(code: string): Promise<TranspileResult> {
  const ts = await loadTypeScript();
  const output = ts.transpileModule(code, {
    fileName: 'block.ts',
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
      inlineSourceMap: false,
    },
  });
  const errors = (output.diagnostics ?? []).filter(
    (diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error,
  );
  if (errors.length === 0) return { ok: true, javascript: output.outputText };
  const lines = errors.map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined)
      return `TypeScript syntax error: ${text}`;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `TypeScript syntax error at line ${line + 1}, column ${character + 1}: ${text} (TS${diagnostic.code})`;
  });
  return { ok: false, error: lines.join('\n') };
}
