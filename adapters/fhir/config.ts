// Settings of a FHIR destination adapter: what a `type: fhir` block sets (adapters/fhir/spec.ts)
// plus how withdrawn records are retracted (the channel's `pipeline.retract`).
import type { FhirAuth } from './spec.js';

export type { FhirAuth } from './spec.js';

export type RetractionMode = 'entered-in-error' | 'delete';

export interface FhirDestinationSettings {
  /** FHIR base URL; default TRAMLINE_LPRES_URL, else the engine's own /fhir sandbox. */
  url?: string;
  auth: FhirAuth;
  /** Whole request, token fetch included. */
  timeoutMs: number;
  /** How withdrawn records are retracted. */
  retraction: RetractionMode;
}

export const DEFAULT_FHIR_SETTINGS: FhirDestinationSettings = { auth: { type: 'none' }, timeoutMs: 30000, retraction: 'entered-in-error' };
