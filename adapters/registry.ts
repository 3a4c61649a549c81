// Destination adapters by channel `type`. Adding a destination type means one entry here,
// its block in schemas/channel.schema.json and its config type in channels/definition.ts.
import type { DestinationConfig } from '../channels/definition.js';
import { CaseInboxDestination } from './case-inbox/destination.js';
import { FhirDestination } from './fhir/destination.js';
import { FileDestination } from './file/destination.js';
import { HttpDestination } from './http/destination.js';
import { MllpDestination } from './mllp/destination.js';
import type { Destination } from './types.js';

export function createDestination(config: DestinationConfig): Destination {
  switch (config.type) {
    case 'case-inbox':
      return new CaseInboxDestination(config);
    case 'http':
      return new HttpDestination(config);
    case 'mllp':
      return new MllpDestination(config);
    case 'file':
      return new FileDestination(config);
    case 'fhir':
      return new FhirDestination(config);
  }
}
