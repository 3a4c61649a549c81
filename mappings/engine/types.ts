// Public shapes of compiled mappings. A mapping is compiled once (loadMapping) and then run
// as a plain function per message: no file access, no I/O, no shared mutable state.
import type { Hl7Message } from '../../core/hl7/message.js';
import type { Hl7View } from '../../core/hl7/model.js';

export type InputKind = 'hl7v2' | 'json';

/**
 * What a mapping reads. HL7 v2 mappings read `message` (or a prebuilt JSON `view`) through
 * HL7 field notation; JSON mappings read `data` through JSONPath. `vars` are named values
 * available as `$var` (for HL7 v2: event, messageType, controlId, sendingFacility, … from MSH).
 */
export interface MappingInput {
  kind: InputKind;
  /** The parsed message; its JSON view is built only for the segments the mapping reads. */
  message?: Hl7Message;
  /** A whole JSON view (core/hl7 toView), used when no `message` is given. */
  view?: Hl7View;
  data?: unknown;
  vars?: Record<string, unknown>;
}

/** A problem that did not stop the mapping (e.g. an invalid NHS number left out). */
export interface MappingIssue {
  severity: 'warning';
  message: string;
  file: string;
  line?: number;
  /** Output location the value was meant for, e.g. `entry[0].resource.birthDate`. */
  target: string;
  /** The input it was read from, e.g. `PID-3 (nhsRepetition)` or `$.person.NHS_Number`. */
  source?: string;
}

export interface MappingResult {
  output: unknown;
  issues: MappingIssue[];
  /**
   * Present when the output passed the FHIR R4 schema check planned when the mapping loaded
   * (the check of the whole output would find nothing): `references` holds every
   * Reference.reference inside its resources, for the bundle's own checks.
   */
  fhirR4Checked?: { references: readonly string[] };
}

export interface CompiledMapping {
  id: string;
  file: string;
  description: string;
  input: InputKind;
  /** Output checks the mapping asks for (`validate:` in the file), e.g. `fhir-r4-uk-core`. */
  validate: string[];
  /** Folder holding this mapping's example cases. */
  casesDir: string;
  /** The `resourceType`s written as constants in the output (their validators are compiled at load). */
  resourceTypes: readonly string[];
  run(input: MappingInput): MappingResult;
}

/** HL7 v2 names every HL7 mapping can read with `$var`. */
export const HL7_BUILTIN_VARS = [
  'messageType',
  'event',
  'structure',
  'controlId',
  'sendingApplication',
  'sendingFacility',
  'receivingApplication',
  'receivingFacility',
  'messageDateTime',
  'version',
] as const;

/** The MSH field each built-in name is read from, for messages naming the field. */
export const HL7_BUILTIN_FIELDS: Record<(typeof HL7_BUILTIN_VARS)[number], string> = {
  messageType: 'MSH-9.1',
  event: 'MSH-9.2',
  structure: 'MSH-9.3',
  controlId: 'MSH-10',
  sendingApplication: 'MSH-3',
  sendingFacility: 'MSH-4',
  receivingApplication: 'MSH-5',
  receivingFacility: 'MSH-6',
  messageDateTime: 'MSH-7',
  version: 'MSH-12',
};
