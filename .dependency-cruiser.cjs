/**
 * Import-cycle check run by `pnpm test` (`pnpm cycles`). Type-only imports are left out on
 * purpose: they vanish at compile time, so only runtime cycles (which can fail with a TDZ error
 * depending on which module loads first) are refused.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-runtime-cycles',
      severity: 'error',
      comment: 'A module must not import itself back at runtime. Move the shared piece to a leaf module.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
