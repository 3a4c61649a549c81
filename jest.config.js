// Jest runs in native ESM (the card's hl7v2 and fhir-kit-client are ESM only); swc strips types.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/{core,adapters,mappings,channels,server}/**/*.test.ts'],
  // Generous: integration tests start real processes (engines, FHIR sandbox, HTTP peers) on a
  // 2-core machine; a hook or test that hangs still fails, just later.
  testTimeout: 180000,
  maxWorkers: 2,
  // Engines and CLIs that tests spawn run from a build of the current sources made once per run.
  globalSetup: '<rootDir>/test/support/engine-build.js',
  globalTeardown: '<rootDir>/test/support/engine-build-remove.js',
  // Slowest files first even on a clean clone (no cached durations): see the file.
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
};
