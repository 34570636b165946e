/**
 * Import rules for src/, checked by `npm run lint` (`npm run deps:check`). They keep the layout
 * of the README: src/domain and src/errors at the bottom, feature folders above, hub and cli
 * wiring on top. A failure names the rule and the import; the fix is to move the shared part
 * (a type, a catalogue entry, a path) down, not to import upwards.
 *
 * Cycles between top-level folders of src/ (a <-> b, or a -> b -> c -> a) are checked by
 * scripts/check-folder-cycles.js with this file's options: depcruise's `circular` sees only
 * file cycles, and a folder cycle needs none (a/x -> b/y -> a/z).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycle',
      severity: 'error',
      comment: 'A file that imports itself through others: split the shared part into its own module.',
      from: { path: '^src/' },
      to: { circular: true }
    },
    {
      name: 'domain-imports-nothing-of-ours',
      severity: 'error',
      comment: 'src/domain is the bottom of the graph: types and catalogues every folder may use, importing no other src folder.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' }
    },
    {
      name: 'errors-import-only-domain',
      severity: 'error',
      comment: 'src/errors (problem catalogue, VerificationFailure) may name domain types and nothing else of ours.',
      from: { path: '^src/errors/' },
      to: { path: '^src/', pathNot: '^src/(errors|domain)/' }
    },
    {
      name: 'src-not-into-test-or-bench',
      severity: 'error',
      comment: 'Shipped code never depends on tests or benchmarks.',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' }
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a typo or a file moved without its importers.',
      from: { path: '^src/' },
      to: { couldNotResolve: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a folder cycle through types is still a cycle for the reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json']
    },
    reporterOptions: {
      text: { highlightFocused: false }
    }
  }
}
