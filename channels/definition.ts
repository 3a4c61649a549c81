// Typed shape of a loaded channel file (defaults applied). The types come from the schema the
// loader validates against (channels/channel-schema.ts, made from the component specs), so a
// field added to a spec is in these types too.
import type { Settings } from '../core/component.js';
import type { channelSchema, exclusionRule, messageFilter, noticesSchema, pipelineSchema, retryPolicy } from './channel-schema.js';

export type { MllpSourceConfig, MllpDestinationConfig } from '../adapters/mllp/spec.js';
export type { FileSourceConfig } from '../adapters/file-drop/spec.js';
export type { HttpSourceConfig, HttpDestinationConfig, HttpAuth } from '../adapters/http/spec.js';
export type { DatabaseSourceConfig } from '../adapters/database/spec.js';
export type { MeshFolderSourceConfig, MeshFolderDestinationConfig } from '../adapters/mesh-folder/spec.js';
export type { CaseInboxDestinationConfig } from '../adapters/case-inbox/spec.js';
export type { FileDestinationConfig } from '../adapters/file/spec.js';
export type { FhirDestinationConfig } from '../adapters/fhir/spec.js';

export type MessageFilter = Settings<typeof messageFilter>;
export type RetryPolicy = Settings<typeof retryPolicy>;
export type ExclusionRule = Settings<typeof exclusionRule>;
export type PipelineConfig = Settings<typeof pipelineSchema>;
export type NoticesConfig = Settings<typeof noticesSchema>;

/** A channel file as loaded (validated, defaults applied). */
export type ChannelData = Settings<typeof channelSchema>;

export type ChannelDefinition = ChannelData & {
  /** File the channel was loaded from. */
  file: string;
};

export type SourceConfig = ChannelDefinition['source'];
/** Sources that deliver records (rows) rather than HL7 v2 messages. */
export type RecordSourceConfig = Exclude<SourceConfig, { type: 'mllp' }>;
export type DestinationConfig = ChannelDefinition['destinations'][number];

/** Engine-wide destination id, also the queue name: `<channel>.<destination>`. */
export function destinationId(channel: string, destination: string): string {
  return `${channel}.${destination}`;
}
