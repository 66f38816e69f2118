/** What transpiling one TypeScript block gave: JavaScript, or an error the model can act on. */
export type TranspileResult = { ok: true; javascript: string } | { ok: false; error: string };

type TypeScriptModule = typeof import('typescript');
let typescriptModule: Promise<TypeScriptModule> | undefined;

// The compiler is large (about 300 ms to load), so only sessions that run TypeScript pay for it.
function loadTypeScript(): Promise<TypeScriptModule> {
  typescriptModule ??= import('typescript').then(
    (module) => (module as unknown as { default?: TypeScriptModule }).default ?? module,
  );
  return typescriptModule;
}

/**
 * Transpiles a TypeScript block to CommonJS JavaScript for Node with `ts.transpileModule` (no type
 * checking, like `tsx`). Syntax errors come back as `TypeScript syntax error at line L, column C: ...`
 * so the model can fix the exact spot.
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
