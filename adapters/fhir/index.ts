// The FHIR destination's public surface (see docs/fhir.md).
export { FhirDestination, bundleOf, retractionOf, type FhirDestinationOptions } from './destination.js';
export { FhirConnection } from './connection.js';
export { retractResources, markedEnteredInError, SHARED_TYPES, type RetractionResult } from './retract.js';
export { createTokenSource, clientAssertion, type TokenSource } from './token-source.js';
export { setLocalSandbox, localSandbox, type LocalSandbox } from './local-sandbox.js';
export { deliveryErrorFor, maskNumbers, type FhirFailureDetail } from './errors.js';
export { DEFAULT_FHIR_SETTINGS, type FhirAuth, type FhirDestinationSettings, type RetractionMode } from './config.js';
