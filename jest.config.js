// Jest runs in native ESM (the card's hl7v2 and fhir-kit-client are ESM only); swc strips types.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/{channels,mappings,adapters,server}/**/*.test.ts'],
  testTimeout: 30000,
  maxWorkers: 2,
};
