// The engine's import rules, checked by `npm run deps` (part of `npm test`, hence of CI): zero
// import cycles, the language half never imports an operation, and the shells reach the engine only
// through its facade and its protocol. Written against the target layout of issue 12 (folders that do
// not exist yet are fine in a regex); ARCHITECTURE.md says why each rule holds. Tests and the bench are
// not scanned: they may import any module they test or measure.

// The operation rooms: everything that opens a connection, owns Tally's state tables, runs or renders
// an operation. (`state-objects.ts`, the names of Tally's tables and the names they reserve, stays a
// top-level pure module: the resolver reports `reserved-name` from it, and state/ builds its DDL from it.)
const OPERATIONS = '^engine/src/(?:db|state|preview|kpi|deploy|campaign|fixtures|advise|series|review|sync)/';

// The language half: syntax -> model -> resolve -> ir -> sql, the language service, and every top-level
// engine module (project.ts, diagnostics*.ts, time.ts, glob.ts, redact.ts, format-values.ts,
// text-table.ts, state-objects.ts, starter.ts, ...) except the facade and the protocol.
const LANGUAGE = '^engine/src/(?:(?:syntax|model|resolve|ir|sql|service)/|(?!(?:index|protocol)[.]ts$)[^/]+[.]ts$)';

// What a shell may import from the engine: the facade and the protocol (types and the kind map).
const FACADE = '^engine/src/(?:index|protocol)[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle: the modules on it can only be understood, loaded and tested together. ' +
        'Type-only imports count too (the cycle is in the design even when erased at run time).',
      from: { path: '^(?:engine|server/src|extension/src)/' },
      to: { circular: true },
    },
    {
      name: 'language-imports-no-operation',
      severity: 'error',
      comment:
        'The language half (a pure function of the files, the catalog and T) must not import an ' +
        'operation room: operations build on the language, never the other way round.',
      from: { path: LANGUAGE },
      to: { path: OPERATIONS },
    },
    {
      name: 'engine-imports-no-shell',
      severity: 'error',
      comment: 'The engine knows nothing of its shells (CLI, language server, extension).',
      from: { path: '^engine/src/' },
      to: { path: '^(?:engine/cli|server/src|extension/src)/' },
    },
    {
      name: 'shells-use-the-facade',
      severity: 'error',
      comment:
        'The CLI and the language server import from the engine only engine/src/index.ts (the ' +
        'facade) and engine/src/protocol.ts; whatever they need, the facade exports. So does the ' +
        'extension\'s build-time snippets entry (below).',
      from: { path: '^(?:engine/cli/|server/src/|extension/src/snippets-source[.]ts$)' },
      to: { path: '^engine/src/', pathNot: FACADE },
    },
    {
      name: 'extension-uses-the-protocol',
      severity: 'error',
      comment:
        'The extension talks to the engine through LSP: it imports engine/src/protocol.ts (the ' +
        'tally/* types) and, for the webview bundle, engine/src/format-values.ts, a dependency-free ' +
        'module (a rule below keeps it so), so values and gaps are formatted by the same code as the ' +
        'CLI instead of a copy. snippets-source.ts is build-time only (build.mjs turns the engine\'s ' +
        'SNIPPETS into dist/snippets.json, so the editor\'s snippets are never a copy); it goes through ' +
        'the facade like the CLI (rule above).',
      from: { path: '^extension/src/', pathNot: '^extension/src/snippets-source[.]ts$' },
      to: { path: '^engine/src/', pathNot: '^engine/src/(?:protocol|format-values)[.]ts$' },
    },
    {
      name: 'extension-bundles-the-server-once',
      severity: 'error',
      comment:
        'The extension bundles the language server (dist/server.mjs) from server-main.ts, its one ' +
        'entry; nothing else in the extension imports the server.',
      from: { path: '^extension/src/', pathNot: '^extension/src/server-main[.]ts$' },
      to: { path: '^server/src/' },
    },
    {
      name: 'webview-helpers-stay-dependency-free',
      severity: 'error',
      comment:
        'The modules the extension (webview, browser bundle) imports from the engine must import ' +
        'nothing at run time: a runtime import would pull engine code (and Node modules) into the webview.',
      from: { path: '^engine/src/(?:protocol|format-values)[.]ts$' },
      to: { dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(?:^|/)(?:node_modules|dist|test|e2e)/' },
    // See type-only imports as well (`import type`); with the TypeScript config, a `./x.js`
    // specifier resolves to `./x.ts` as tsc resolves it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.cjs', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
