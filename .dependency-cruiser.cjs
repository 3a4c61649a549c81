// The layering rule (ARCHITECTURE.md), checked by `npm run deps`, part of `npm test`:
//
//   core  →  adapters  →  mappings  →  channels  →  server      (bench, bin and test may use any)
//
// A module may import its own layer and the layers to its left, never one to its right, and no
// import may close a cycle. Paths are relative to the folder depcruise runs in, so the same
// rules check the repository and the small trees test/unit/layers.test.ts builds.
/** Layers, lowest first. */
const LAYERS = ['core', 'adapters', 'mappings', 'channels', 'server'];

const upwardRules = LAYERS.slice(0, -1).map((layer, i) => {
  const higher = LAYERS.slice(i + 1);
  return {
    name: `${layer}-imports-no-higher-layer`,
    comment: `${layer}/ is below ${higher.join(', ')}: it must not import them (ARCHITECTURE.md "Layers"). Move the shared piece down, or pass it in.`,
    severity: 'error',
    from: { path: `^${layer}/` },
    to: { path: `^(${higher.join('|')})/` },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upwardRules,
    {
      name: 'no-import-cycles',
      comment: 'Modules that import each other, directly or round a loop, cannot be understood or tested alone: move what they share into a module both import.',
      severity: 'error',
      from: { path: `^(${LAYERS.join('|')})/` },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['(^|/)node_modules/', '^dist/', '\\.d\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
