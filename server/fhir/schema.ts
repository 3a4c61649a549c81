// Row shapes of the sandbox FHIR tables (migration 0006) as Kysely sees them.
import type { SealedColumns } from '../../adapters/store/schema.js';

export interface FhirResourcesTable {
  resource_type: string;
  id: string;
  /** Current version; versions count from 1. */
  version_id: number;
  /** Epoch milliseconds of the current version. */
  last_updated: number;
  /** 1 when the current version is a delete. */
  deleted: number;
}

export interface FhirVersionsTable extends SealedColumns {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: number;
  deleted: number;
}

export interface FhirIndexTable {
  resource_type: string;
  id: string;
  kind: 'identifier' | 'reference' | 'token' | 'string' | 'date';
  /** `identifier`, the element path of a reference (`subject`, `participant.member`), a token element (`status`), a string parameter (`family`, `given`, `name`) or `birthdate`. */
  name: string;
  /** Identifier system ('' when none); '' for references; a string's exact text; a date's first day (YYYYMMDD). */
  system: string;
  /** Identifier value, the reference as `Type/id`, the token's code, a string folded (lower case, no accents), a date's last day. */
  value: string;
}

export interface FhirLockTable {
  id: number;
  writes: number;
}

export interface FhirDatabase {
  fhir_resources: FhirResourcesTable;
  fhir_versions: FhirVersionsTable;
  fhir_index: FhirIndexTable;
  fhir_lock: FhirLockTable;
}
