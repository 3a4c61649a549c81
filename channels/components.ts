// Every component Tramline has, in one place: sources, destinations and record formats by the
// `type` a channel file names, and the mapping functions `$fn` calls. The channel schema
// (channels/channel-schema.ts), the config types (channels/definition.ts), `tramline validate`
// and docs/components.md (`npm run generate`) all come from these specs; channels/construct.ts
// builds the running source or destination for each type.
//
// Adding a component: its spec beside its implementation (e.g. adapters/<name>/spec.ts), a
// line here, its constructor in channels/construct.ts (the compiler asks for it), then
// `npm run generate`.
import { caseInboxDestinationSpec } from '../adapters/case-inbox/spec.js';
import { databaseSourceSpec } from '../adapters/database/spec.js';
import { fhirDestinationSpec } from '../adapters/fhir/spec.js';
import { fileDestinationSpec } from '../adapters/file/spec.js';
import { fileSourceSpec } from '../adapters/file-drop/spec.js';
import { httpDestinationSpec, httpSourceSpec } from '../adapters/http/spec.js';
import { meshFolderDestinationSpec, meshFolderSourceSpec } from '../adapters/mesh-folder/spec.js';
import { mllpDestinationSpec, mllpSourceSpec } from '../adapters/mllp/spec.js';
import { FUNCTIONS as FUNCTION_LIBRARY } from '../mappings/functions/index.js';
import { cldRecordFormatSpec } from '../mappings/social-care/spec.js';

export const SOURCES = [mllpSourceSpec, fileSourceSpec, httpSourceSpec, databaseSourceSpec, meshFolderSourceSpec] as const;

export const DESTINATIONS = [caseInboxDestinationSpec, httpDestinationSpec, mllpDestinationSpec, fileDestinationSpec, fhirDestinationSpec, meshFolderDestinationSpec] as const;

export const RECORD_FORMATS = [cldRecordFormatSpec] as const;

export type RecordFormatName = (typeof RECORD_FORMATS)[number]['type'];

/** The mapping functions `$fn` can call (mappings/functions/: each carries its spec). */
export const FUNCTIONS = [...FUNCTION_LIBRARY.values()];
